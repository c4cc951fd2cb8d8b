"""The demo model: a small masked depthwise-separable convolutional CTC
acoustic model (QuartzNet-like), character vocabulary.

Input  features [B, 80, T] (per-feature normalised log-mel), features_length [B]
Output log_probs [B, ceil(T / 2), V]

Every convolution sees padded frames as zeros (the mask is re-applied before
each one), so an utterance gives the same output alone or padded in a batch.
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


class Block(nn.Module):
    def __init__(self, d, kernel, dropout):
        super().__init__()
        self.dw = nn.Conv1d(d, d, kernel, padding=kernel // 2, groups=d, bias=False)
        self.pw = nn.Conv1d(d, d, 1, bias=False)
        self.bn = nn.BatchNorm1d(d)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask):
        y = self.dw(x * mask)
        y = self.bn(self.pw(y))
        return self.drop(self.act(y + x))


class DemoCtc(nn.Module):
    def __init__(self, n_mels=80, d=256, kernels=(11, 13, 15, 17, 19, 21, 23, 25, 27, 29), dropout=0.1):
        super().__init__()
        self.sub = nn.Conv1d(n_mels, d, 5, stride=SUBSAMPLING, padding=2, bias=False)
        self.sub_bn = nn.BatchNorm1d(d)
        self.blocks = nn.ModuleList([Block(d, k, dropout) for k in kernels])
        self.head = nn.Conv1d(d, len(TOKENS), 1)

    def forward(self, features, features_length):
        mask = mask_for(features_length, features.shape[2])
        x = torch.relu(self.sub_bn(self.sub(features * mask)))
        out_len = torch.div(features_length + SUBSAMPLING - 1, SUBSAMPLING, rounding_mode="floor")
        mask = mask_for(out_len, x.shape[2])
        for b in self.blocks:
            x = b(x, mask)
        logits = self.head(x * mask)
        return torch.log_softmax(logits, dim=1).transpose(1, 2), out_len
