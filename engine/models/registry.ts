/**
 * The real English NeMo CTC models users can pull: archives in sherpa-onnx's
 * export format (model + tokens.txt, with vocab_size / subsampling_factor /
 * normalize_type metadata) from sherpa-onnx's GitHub release `asr-models`.
 *
 * Only archives with published evidence are listed (sherpa-onnx docs and CI
 * scripts for names, URLs and files inside; sizes and sha256 as recorded by
 * downloaders that verify them). `null` means not confirmed: a null sha256
 * skips verification, a null size shows as unknown.
 */

export interface RegistryModel {
  /** The archive's name without `.tar.bz2`; also the folder it extracts to and the cache folder. */
  name: string;
  description: string;
  url: string;
  archiveBytes: number | null;
  sha256: string | null;
  /** Paths inside the extracted folder. */
  modelFile: string;
  tokensFile: string;
  language: string;
  licence: string | null;
  /**
   * A streaming (cache-aware) export, run chunk by chunk with its cache
   * carried between calls, and its latency as NVIDIA names the model (80 /
   * 480 / 1040 ms: the look-ahead it was trained for). The chunk and window
   * it takes are in its ONNX metadata (chunk_shift, window_size), not here.
   * null for an offline export, which decodes a whole segment at once.
   */
  streaming: { latencyMs: number } | null;
}

const RELEASE = 'https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models';

/** Archive sizes and sha256 pinned by a verifying downloader (see above); the others are unconfirmed. */
const STREAMING_PINNED: Record<string, { archiveBytes: number; sha256: string }> = {
  'sherpa-onnx-nemo-streaming-fast-conformer-ctc-en-80ms-int8': { archiveBytes: 99_459_493, sha256: '479759fbd5c69c909e7175d7773105a1bfabf82fa533de68c546c89d85f234e8' },
};

// Order matters: with no model named, the first cached entry is used, so the
// best accuracy-for-size comes first. Archives holding both model.onnx and
// model.int8.onnx use model.onnx, as folder specs do (int8 kernels are
// CPU-oriented; fp32 runs on every execution provider).
export const REGISTRY: readonly RegistryModel[] = [
  {
    name: 'sherpa-onnx-nemo-parakeet_tdt_ctc_110m-en-36000-int8',
    description: 'NVIDIA Parakeet TDT-CTC 110M (CTC branch), FastConformer, int8; cased with punctuation',
    url: `${RELEASE}/sherpa-onnx-nemo-parakeet_tdt_ctc_110m-en-36000-int8.tar.bz2`,
    archiveBytes: 104_337_827,
    sha256: '17f945007b52ccd8b7200ffc7c5652e9e8e961dfdf479cefcabd06cf5703630b',
    modelFile: 'model.int8.onnx',
    tokensFile: 'tokens.txt',
    language: 'en',
    licence: 'CC-BY-4.0',
    streaming: null,
  },
  {
    name: 'sherpa-onnx-nemo-ctc-en-conformer-small',
    description: 'NeMo Conformer-CTC small (13M params, ~16k h English); lower case',
    url: `${RELEASE}/sherpa-onnx-nemo-ctc-en-conformer-small.tar.bz2`,
    archiveBytes: 76_482_338,
    sha256: '83dcb462aece5bef4e8072c267419389f0b8d1f91152d8851765f284ff664caa',
    modelFile: 'model.onnx',
    tokensFile: 'tokens.txt',
    language: 'en',
    licence: 'CC-BY-4.0',
    streaming: null,
  },
  {
    name: 'sherpa-onnx-nemo-ctc-en-conformer-medium',
    description: 'NeMo Conformer-CTC medium (~30M params, ~16k h English); lower case',
    url: `${RELEASE}/sherpa-onnx-nemo-ctc-en-conformer-medium.tar.bz2`,
    archiveBytes: 165_685_608,
    sha256: null,
    modelFile: 'model.onnx',
    tokensFile: 'tokens.txt',
    language: 'en',
    licence: null,
    streaming: null,
  },
  {
    name: 'sherpa-onnx-nemo-ctc-en-conformer-large',
    description: 'NeMo Conformer-CTC large (~120M params, ~24.5k h English); lower case',
    url: `${RELEASE}/sherpa-onnx-nemo-ctc-en-conformer-large.tar.bz2`,
    archiveBytes: 610_719_312,
    sha256: null,
    modelFile: 'model.onnx',
    tokensFile: 'tokens.txt',
    language: 'en',
    licence: 'CC-BY-4.0',
    streaming: null,
  },
  {
    name: 'sherpa-onnx-nemo-fast-conformer-ctc-en-24500',
    description: 'NeMo FastConformer-CTC large (~24.5k h English), fp32',
    url: `${RELEASE}/sherpa-onnx-nemo-fast-conformer-ctc-en-24500.tar.bz2`,
    archiveBytes: null,
    sha256: null,
    modelFile: 'model.onnx',
    tokensFile: 'tokens.txt',
    language: 'en',
    licence: 'CC-BY-4.0',
    streaming: null,
  },
  {
    name: 'sherpa-onnx-nemo-ctc-en-citrinet-512',
    description: 'NeMo Citrinet-512 CTC (~7k h English); lower case',
    url: `${RELEASE}/sherpa-onnx-nemo-ctc-en-citrinet-512.tar.bz2`,
    archiveBytes: 164_307_491,
    sha256: null,
    modelFile: 'model.onnx',
    tokensFile: 'tokens.txt',
    language: 'en',
    licence: null,
    streaming: null,
  },
  // Streaming exports: NVIDIA's stt_en_fastconformer_hybrid_large_streaming_
  // {80,480,1040}ms, CTC branch only, exported by sherpa-onnx's
  // scripts/nemo/fast-conformer-hybrid-transducer-ctc/export-onnx-ctc.py
  // (metadata: window_size, chunk_shift, cache_last_* dims, subsampling 8).
  // Its run-ctc.sh puts model.onnx + tokens.txt in NAME and the int8
  // quantisation (model.int8.onnx + tokens.txt) in a separate NAME-int8; the
  // workflow export-nemo-fast-conformer-hybrid-transducer-ctc.yaml adds
  // test_wavs/ and uploads each folder as NAME.tar.bz2 to `asr-models`
  // (sherpa-onnx's CI downloads the 80 ms one: .github/scripts/test-online-ctc.sh).
  // No archive size is published by sherpa-onnx; only the 80 ms int8 one is
  // pinned (size and sha256) by a downloader that verifies it, a Flutter app
  // (pov_agent's AsrModelManifest: 99,459,493 bytes, 6 files, 132,884,963
  // bytes unpacked). A third-party reading of the release listing gives
  // 99-103 MB for the three int8 archives; not exact, so those stay null.
  //
  // They come after every offline entry so that a cached offline model stays
  // the default, as before they were listed; a streaming one is served when
  // named (its metadata puts it on the engine's streaming path). Within them,
  // lowest latency first, fp32 before int8 (as for folders: fp32 runs on
  // every execution provider).
  ...[80, 480, 1040].flatMap((latencyMs) => [streamingNemoCtc(latencyMs, false), streamingNemoCtc(latencyMs, true)]),
];

/** One of sherpa-onnx's exports of NVIDIA's FastConformer hybrid large streaming models (CTC branch). */
function streamingNemoCtc(latencyMs: number, int8: boolean): RegistryModel {
  const name = `sherpa-onnx-nemo-streaming-fast-conformer-ctc-en-${latencyMs}ms${int8 ? '-int8' : ''}`;
  return {
    name,
    description: `NeMo FastConformer hybrid large streaming (CTC branch), ${int8 ? 'int8' : 'fp32'}`,
    url: `${RELEASE}/${name}.tar.bz2`,
    archiveBytes: STREAMING_PINNED[name]?.archiveBytes ?? null,
    sha256: STREAMING_PINNED[name]?.sha256 ?? null,
    modelFile: int8 ? 'model.int8.onnx' : 'model.onnx',
    tokensFile: 'tokens.txt',
    language: 'en',
    licence: null,
    streaming: { latencyMs },
  };
}

/**
 * Speaker-embedding models for `--speaker-embedding-model` (diarization that
 * recognises returning speakers): single ONNX files with sherpa-onnx's
 * metadata (`framework` wespeaker / 3d-speaker / nemo, read by
 * engine/diarization/embedding-contract.ts), from sherpa-onnx's GitHub
 * release `speaker-recongition-models` (sic). Not ASR models: kept apart
 * from REGISTRY; `npm run models -- pull NAME` fetches the file itself
 * (download.ts pullEmbeddingModel), no archive. Sizes and sha256 as pinned by verifying third-party
 * downloaders where one was found; null otherwise.
 */
export interface SpeakerEmbeddingRegistryModel {
  /** The file's name without `.onnx`. */
  name: string;
  description: string;
  url: string;
  bytes: number | null;
  sha256: string | null;
  /** A starting point for --speaker-embedding-distance (sherpa-onnx examples compare at similarity ~0.5); not measured by this project. */
  distance: number;
}

const SPEAKER_RELEASE = 'https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-recongition-models';

export const SPEAKER_EMBEDDING_REGISTRY: readonly SpeakerEmbeddingRegistryModel[] = [
  {
    name: 'wespeaker_en_voxceleb_resnet34',
    description: 'WeSpeaker ResNet34 (VoxCeleb, English), 256-d',
    url: `${SPEAKER_RELEASE}/wespeaker_en_voxceleb_resnet34.onnx`,
    bytes: 26_534_127,
    sha256: '9fea6516d7ad6bf0a76c7689f5a49b65d330fad6dde96c91bb4435ffbfe056a1',
    distance: 0.5,
  },
  {
    name: 'wespeaker_en_voxceleb_CAM++',
    description: 'WeSpeaker CAM++ (VoxCeleb, English), 512-d',
    url: `${SPEAKER_RELEASE}/wespeaker_en_voxceleb_CAM%2B%2B.onnx`,
    bytes: null,
    sha256: null,
    distance: 0.5,
  },
  {
    name: '3dspeaker_speech_campplus_sv_zh_en_16k-common_advanced',
    description: '3D-Speaker CAM++ (Chinese and English), 192-d',
    url: `${SPEAKER_RELEASE}/3dspeaker_speech_campplus_sv_zh_en_16k-common_advanced.onnx`,
    bytes: null,
    sha256: 'aa3cfc16963a10586a9393f5035d6d6b57e98d358b347f80c2a30bf4f00ceba2',
    distance: 0.6,
  },
  {
    name: '3dspeaker_speech_eres2net_base_sv_zh-cn_3dspeaker_16k',
    description: '3D-Speaker ERes2Net base (Chinese), 192-d',
    url: `${SPEAKER_RELEASE}/3dspeaker_speech_eres2net_base_sv_zh-cn_3dspeaker_16k.onnx`,
    bytes: 39_593_761,
    sha256: null,
    distance: 0.6,
  },
  {
    name: 'nemo_en_titanet_small',
    description: 'NVIDIA NeMo TitaNet small (English), 192-d',
    url: `${SPEAKER_RELEASE}/nemo_en_titanet_small.onnx`,
    bytes: null,
    sha256: null,
    distance: 0.6,
  },
];

export function findRegistryModel(name: string): RegistryModel | undefined {
  return REGISTRY.find((m) => m.name === name);
}

export function findSpeakerEmbeddingModel(name: string): SpeakerEmbeddingRegistryModel | undefined {
  return SPEAKER_EMBEDDING_REGISTRY.find((m) => m.name === name);
}
