"""The demo model: convolutions at 20 ms frames for local detail, bidirectional
GRU layers at 40 ms frames for context, CTC head at 20 ms over characters.

Input  features [B, 80, T] (per-feature normalised log-mel), features_length [B]
Output log_probs [B, ceil(T / 2), V]

The GRUs run at half the output rate because they dominate training cost on
CPU; each 40 ms state is repeated for its two 20 ms output frames and added
to the 20 ms convolutional features, so fast speech still has a frame per
character.

An utterance must give the same output alone or padded in a batch. The
convolutions see padded frames as zeros (the mask is re-applied before each
one); a forward GRU only runs into padding after an utterance's last frame;
the backward direction is a forward GRU over each utterance reversed within
its own length, so padding comes after the valid frames there too. This also
keeps the ONNX export to plain Conv, GRU and Gather ops.
"""
import torch
from torch import nn

SUBSAMPLING = 2
# <blk> first (CTC blank = 0), then the word boundary, then characters.
TOKENS = ["<blk>", "▁"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'"]


def text_to_ids(text):
    ids = []
    for ch in text:
        ids.append(1 if ch == " " else TOKENS.index(ch))
    return ids


def mask_for(lengths, t):
    return (torch.arange(t, device=lengths.device)[None, :] < lengths[:, None]).unsqueeze(1).to(torch.float32)


def halve(lengths):
    return torch.div(lengths + 1, 2, rounding_mode="floor")


def reverse_index(lengths, t):
    """[B, T, 1] index that reverses frames 0..len-1 of each row and keeps padding in place."""
    pos = torch.arange(t, device=lengths.device)[None, :]
    last = (lengths - 1)[:, None]
    return torch.where(pos <= last, last - pos, pos).unsqueeze(2)


class MaskedNorm(nn.Module):
    """Per-utterance, per-channel normalisation over the valid frames, with a
    learned scale and shift. Unlike BatchNorm it has no running statistics, so
    training and inference compute the same thing, and padding never enters
    the statistics (batch-invariant by construction)."""

    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x, mask):  # x [B, C, T], mask [B, 1, T]
        n = mask.sum(dim=2, keepdim=True).clamp(min=1.0)
        mean = (x * mask).sum(dim=2, keepdim=True) / n
        var = (((x - mean) * mask) ** 2).sum(dim=2, keepdim=True) / n
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight[None, :, None] + self.bias[None, :, None]


class ConvBlock(nn.Module):
    def __init__(self, d, kernel, dropout):
        super().__init__()
        self.dw = nn.Conv1d(d, d, kernel, padding=kernel // 2, groups=d, bias=False)
        self.pw = nn.Conv1d(d, d, 1, bias=False)
        self.bn = MaskedNorm(d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask):
        y = self.bn(self.pw(self.dw(x * mask)), mask)
        return self.drop(torch.relu(y + x))


class BiGru(nn.Module):
    def __init__(self, d_in, hidden, dropout):
        super().__init__()
        self.fwd = nn.GRU(d_in, hidden, batch_first=True)
        self.bwd = nn.GRU(d_in, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, rev):  # x [B, T, C]
        f, _ = self.fwd(x)
        b, _ = self.bwd(torch.gather(x, 1, rev.expand(-1, -1, x.shape[2])))
        b = torch.gather(b, 1, rev.expand(-1, -1, b.shape[2]))
        return self.drop(torch.cat([f, b], dim=2))


class DemoCtc(nn.Module):
    def __init__(self, n_mels=80, d=256, kernels=(11, 15, 19), hidden=128, gru_layers=2, dropout=0.1):
        super().__init__()
        self.sub = nn.Conv1d(n_mels, d, 5, stride=SUBSAMPLING, padding=2, bias=False)
        self.sub_bn = MaskedNorm(d)
        self.blocks = nn.ModuleList([ConvBlock(d, k, dropout) for k in kernels])
        self.down = nn.Conv1d(d, d, 3, stride=2, padding=1, bias=False)
        self.down_bn = MaskedNorm(d)
        self.grus = nn.ModuleList([BiGru(d if i == 0 else 2 * hidden, hidden, dropout) for i in range(gru_layers)])
        self.up = nn.Linear(2 * hidden, d)
        self.head = nn.Linear(d, len(TOKENS))

    def forward(self, features, features_length):
        mask = mask_for(features_length, features.shape[2])
        x = self.sub(features * mask)
        out_len = torch.div(features_length + SUBSAMPLING - 1, SUBSAMPLING, rounding_mode="floor")
        mask = mask_for(out_len, x.shape[2])
        x = torch.relu(self.sub_bn(x, mask))
        for b in self.blocks:
            x = b(x, mask)
        x = x * mask
        t = x.shape[2]
        len4 = halve(out_len)
        mask4 = mask_for(len4, (t + 1) // 2)
        y = torch.relu(self.down_bn(self.down(x), mask4)) * mask4
        y = y.transpose(1, 2)
        rev = reverse_index(len4, y.shape[1])
        for g in self.grus:
            y = g(y, rev)
        y = self.up(y)  # [B, T/4, d]
        y = y.unsqueeze(2).expand(-1, -1, 2, -1).reshape(y.shape[0], -1, y.shape[2])[:, :t]
        z = torch.relu(x.transpose(1, 2) + y)
        return torch.log_softmax(self.head(z), dim=2), out_len


def load_weights(model, state_dict):
    """Loads a checkpoint's weights; ones saved before MaskedNorm replaced
    BatchNorm carry running statistics that MaskedNorm does not use."""
    model.load_state_dict({k: v for k, v in state_dict.items() if "running_" not in k and "num_batches" not in k})
