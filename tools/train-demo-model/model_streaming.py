"""The streaming demo model (models/demo-en-streaming-ctc): the offline demo
model (model.py) made causal, run chunk by chunk in sherpa-onnx's online NeMo
CTC contract, on kaldi fbank features (kaldi_fbank.py).

Layers (d = 256 channels, 20 ms frames after the first convolution):
  input norm   fixed per-bin mean / std of the training features (constants)
  input map    learned 80x80 (1x1 conv), fitted at init by least squares to map
               kaldi features onto the NeMo features the offline model knew
  sub          conv k=5 stride 2 -> 20 ms; output j sees input frames 2j-2..2j+2
  3 blocks     depthwise conv (taps -l..+1 around the frame, l = 5, 7, 9), 1x1 conv,
               affine norm, residual, relu
  down         conv k=3 stride 2 -> 40 ms; output m sees 20 ms frames 2m-1..2m+1
  3 GRUs       unidirectional, 192 units, at 40 ms
  up           linear 192 -> 256, each 40 ms state repeated for its two 20 ms
               frames, added to the blocks' output, relu
  head         linear 256 -> 29 (blank last), log-softmax
The norms are fixed per-channel affines (learned scale and shift, no
statistics), so each batch row is computed alone and a chunk's result does
not depend on anything but its own past.

Streaming (forward_chunk): a call gets the window of W = 24 feature frames
[16k, 16k + 24) and emits the 8 output frames (20 ms) of its first S = 16
frames, output frame j covering input frames 2j, 2j+1. The last 8 frames are
right lookahead: the sub conv and the blocks' +1 taps look up to 7 input
frames (70 ms) past the call's last new frame; nothing after the S new frames
enters the caches. Left context lives in the caches:
  cache_last_time    [B, 1, 256, 24]: the layers' inputs just before the
                     call's first new frame, along time:
                     [0:2]   input map output (channels 0..79, rest 0), 2 frames
                     [2:7]   block 1 input, 5 frames
                     [7:14]  block 2 input, 7 frames
                     [14:23] block 3 input, 9 frames
                     [23:24] down conv input, 1 frame
  cache_last_channel [B, 3, 1, 192]: the three GRUs' hidden states
  cache_last_channel_len [B]: number of calls so far (informational)
forward (whole utterance, for training) computes exactly what the chunked
calls compute, with zero left padding standing for the zero initial caches;
check_streaming() verifies this.
"""
import torch
import torch.nn.functional as F
from torch import nn

SUBSAMPLING = 2
CHUNK_SHIFT = 16  # S: new input frames per call (160 ms)
LOOKAHEAD = 8  # W - S: right-context frames per call
WINDOW = CHUNK_SHIFT + LOOKAHEAD  # W
OUT_PER_CALL = CHUNK_SHIFT // SUBSAMPLING  # 8
# NeMo order: blank LAST. "▁" is the word boundary.
TOKENS = ["▁"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'", "<blk>"]
BLANK = len(TOKENS) - 1
LOG_FLOOR = -15.942385  # ln(FLT_EPSILON): the features of digital silence
PAD_SECONDS = 0.4  # zeros the runtime appends at the end of an utterance
PAD_FRAMES = 40

SUB_LEFT = 2
BLOCK_KERNELS = (11, 15, 19)  # the offline model's (centred) kernels
BLOCK_RIGHT = 1


def text_to_ids(text):
    return [0 if ch == " " else TOKENS.index(ch) for ch in text]


class Affine(nn.Module):
    """Per-channel scale and shift: the offline model's per-utterance norms
    with their statistics fixed (set by calibrate from training data)."""

    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.calibrating = False

    def forward(self, x):  # [B, C, T]
        if self.calibrating:
            self.stats = (x.mean(dim=(0, 2)).detach(), x.var(dim=(0, 2)).detach())
        return x * self.weight[None, :, None] + self.bias[None, :, None]


class StreamingCtc(nn.Module):
    def __init__(self, n_mels=80, d=256, hidden=192, gru_layers=3, dropout=0.1):
        super().__init__()
        self.d, self.hidden, self.gru_layers = d, hidden, gru_layers
        self.register_buffer("feat_mean", torch.zeros(n_mels))
        self.register_buffer("feat_istd", torch.ones(n_mels))
        self.inmap = nn.Conv1d(n_mels, n_mels, 1)
        self.sub = nn.Conv1d(n_mels, d, 5, stride=SUBSAMPLING, bias=False)
        self.sub_bn = Affine(d)
        self.lefts = [(k - 1) // 2 for k in BLOCK_KERNELS]
        self.dws = nn.ModuleList([nn.Conv1d(d, d, l + 1 + BLOCK_RIGHT, groups=d, bias=False) for l in self.lefts])
        self.pws = nn.ModuleList([nn.Conv1d(d, d, 1, bias=False) for _ in self.lefts])
        self.bns = nn.ModuleList([Affine(d) for _ in self.lefts])
        self.down = nn.Conv1d(d, d, 3, stride=2, bias=False)
        self.down_bn = Affine(d)
        self.grus = nn.ModuleList([nn.GRU(d if i == 0 else hidden, hidden, batch_first=True) for i in range(gru_layers)])
        self.up = nn.Linear(hidden, d)
        self.head = nn.Linear(d, len(TOKENS))
        self.drop = nn.Dropout(dropout)
        self.time_cache = SUB_LEFT + sum(self.lefts) + 1

    # ---- shared pieces -------------------------------------------------
    def _input(self, feats):  # raw kaldi [B, 80, T] -> mapped [B, 80, T]
        return self.inmap((feats - self.feat_mean[None, :, None]) * self.feat_istd[None, :, None])

    def _block(self, i, x_ctx, n_out):  # x_ctx: block input incl. left context; -> n_out frames
        l = self.lefts[i]
        y = self.bns[i](self.pws[i](self.dws[i](x_ctx)))
        return self.drop(torch.relu(y + x_ctx[:, :, l : l + n_out]))

    def _top(self, x, g):  # x: 20 ms conv features [B, d, t] (t even), g: GRU output [B, t/2, hidden]
        y = self.up(g)
        y = torch.stack([y, y], dim=2).reshape(y.shape[0], -1, y.shape[2])
        z = torch.relu(x.transpose(1, 2) + y)
        return torch.log_softmax(self.head(z), dim=2)

    # ---- whole utterance (training, and the reference for streaming) ----
    def forward(self, feats, lengths):
        """feats [B, 80, T] raw kaldi log-mel, T even -> log_probs [B, T/2, V], lengths."""
        h = self._input(feats)
        x = torch.relu(self.sub_bn(self.sub(F.pad(h, (SUB_LEFT, 2)))))
        t = x.shape[2]
        for i, l in enumerate(self.lefts):
            x = self._block(i, F.pad(x, (l, BLOCK_RIGHT)), t)
        y = torch.relu(self.down_bn(self.down(F.pad(x, (1, 1)))))[:, :, : t // 2]
        g = y.transpose(1, 2)
        for gru in self.grus:
            g, _ = gru(g)
            g = self.drop(g)
        return self._top(x[:, :, : 2 * g.shape[1]], g), torch.div(lengths, SUBSAMPLING, rounding_mode="floor")

    # ---- one call of the runtime ------------------------------------------
    def initial_states(self, batch):
        return (torch.zeros(batch, self.gru_layers, 1, self.hidden), torch.zeros(batch, 1, self.d, self.time_cache),
                torch.zeros(batch, dtype=torch.int64))

    def forward_chunk(self, feats, length, cache_last_channel, cache_last_time, cache_last_channel_len):
        """feats [B, 80, W] -> (log_probs [B, S/2, V], lengths [B], next caches)."""
        S, n_out = CHUNK_SHIFT, OUT_PER_CALL
        h = self._input(feats)
        c = 0
        new_time = []
        ctx = torch.cat([cache_last_time[:, 0, : h.shape[1], c : c + SUB_LEFT], h], dim=2)
        new_time.append(F.pad(h[:, :, S - SUB_LEFT : S], (0, 0, 0, self.d - h.shape[1])))
        c += SUB_LEFT
        x = torch.relu(self.sub_bn(self.sub(ctx)))  # [B, d, S/2 + 3]
        for i, l in enumerate(self.lefts):
            ctx = torch.cat([cache_last_time[:, 0, :, c : c + l], x], dim=2)
            new_time.append(ctx[:, :, n_out : n_out + l])
            c += l
            x = self._block(i, ctx, x.shape[2] - BLOCK_RIGHT)
        x = x[:, :, :n_out]
        ctx = torch.cat([cache_last_time[:, 0, :, c : c + 1], x], dim=2)
        new_time.append(x[:, :, n_out - 1 : n_out])
        y = torch.relu(self.down_bn(self.down(ctx)))  # [B, d, S/4]
        g = y.transpose(1, 2)
        new_channel = []
        for i, gru in enumerate(self.grus):
            g, hn = gru(g, cache_last_channel[:, i, 0, :].unsqueeze(0).contiguous())
            new_channel.append(hn.transpose(0, 1))  # [B, 1, hidden]
        logp = self._top(x, g)
        out_len = torch.div(length - LOOKAHEAD, SUBSAMPLING, rounding_mode="trunc")  # plain integer Div in ONNX
        return (logp, out_len, torch.stack(new_channel, dim=1), torch.cat(new_time, dim=2).unsqueeze(1),
                cache_last_channel_len + 1)


def run_streaming(model, feats):
    """The runtime's loop over one batch of utterances: feats [B, 80, T] (T
    frames, zero-audio padding already appended); windows of W frames advanced
    by S while a whole window fits -> log_probs [B, calls * S/2, V]."""
    b, _, t = feats.shape
    states = model.initial_states(b)
    outs = []
    k = 0
    while k * CHUNK_SHIFT + WINDOW <= t:
        win = feats[:, :, k * CHUNK_SHIFT : k * CHUNK_SHIFT + WINDOW]
        logp, _, *states = model.forward_chunk(win, torch.full((b,), WINDOW, dtype=torch.int64), *states)
        outs.append(logp)
        k += 1
    if not outs:
        return torch.zeros(b, 0, len(TOKENS))
    return torch.cat(outs, dim=1)


def greedy(logp):
    """[T, V] -> text: argmax per frame, collapse repeats, drop blanks."""
    out, prev = [], BLANK
    for i in logp.argmax(-1).tolist():
        if i != prev and i != BLANK:
            out.append(TOKENS[i])
        prev = i
    return "".join(out).replace("▁", " ").strip()


def init_from_offline(model, state):
    """Copies what fits from the offline model's weights (model.py's DemoCtc):
    sub conv, 1x1 convs, down conv as they are; depthwise kernels' taps -l..+1;
    the forward direction of each bidirectional GRU (deeper layers: the
    forward half of the input columns); up's forward half; head rows
    re-ordered to put the blank last. Norms are set by calibrate()."""
    w = state
    with torch.no_grad():
        model.sub.weight.copy_(w["sub.weight"])
        for i, l in enumerate(model.lefts):
            model.dws[i].weight.copy_(w[f"blocks.{i}.dw.weight"][:, :, : l + 1 + BLOCK_RIGHT])
            model.pws[i].weight.copy_(w[f"blocks.{i}.pw.weight"])
        model.down.weight.copy_(w["down.weight"])
        h = model.hidden
        for i, gru in enumerate(model.grus):
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                src = w[f"grus.{i}.fwd.{name}"]
                if name == "weight_ih_l0" and i > 0:
                    src = src[:, :h]
                getattr(gru, name).copy_(src)
        model.up.weight.copy_(w["up.weight"][:, :h])
        model.up.bias.copy_(w["up.bias"])
        perm = list(range(1, 29)) + [0]
        model.head.weight.copy_(w["head.weight"][perm])
        model.head.bias.copy_(w["head.bias"][perm])
    return {"sub_bn": "sub_bn", **{f"bns.{i}": f"blocks.{i}.bn" for i in range(3)}, "down_bn": "down_bn"}


def calibrate(model, feats, lengths, offline_state):
    """Sets each Affine from the statistics of its input over a batch of
    training features, one after another: scale = offline weight / std,
    shift = offline bias - mean * scale, so it does what the offline model's
    per-utterance norm did, with dataset statistics instead."""
    names = {"sub_bn": "sub_bn", "bns.0": "blocks.0.bn", "bns.1": "blocks.1.bn", "bns.2": "blocks.2.bn", "down_bn": "down_bn"}
    model.eval()
    with torch.no_grad():
        for mine, theirs in names.items():
            mod = model.get_submodule(mine)
            mod.weight.fill_(1.0)
            mod.bias.fill_(0.0)
            mod.calibrating = True
            model(feats, lengths)
            mod.calibrating = False
            mean, var = mod.stats
            scale = offline_state[f"{theirs}.weight"] / torch.sqrt(var + 1e-5)
            mod.weight.copy_(scale)
            mod.bias.copy_(offline_state[f"{theirs}.bias"] - mean * scale)


def check_streaming(model, t=203, batch=3, seed=0):
    """Max |difference| between the chunked calls and one whole-utterance pass,
    and between a row alone and in a batch."""
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(batch, 80, t, generator=g) * 3 - 8
    model.eval()
    with torch.no_grad():
        s = run_streaming(model, feats)
        n = s.shape[1]
        te = t - t % 2
        full, _ = model(feats[:, :, :te], torch.full((batch,), te))
        d_full = (s - full[:, :n]).abs().max().item()
        alone = run_streaming(model, feats[1:2])
        d_batch = (s[1:2] - alone).abs().max().item()
    return d_full, d_batch
