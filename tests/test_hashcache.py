"""The hash cache serves unchanged files without reading them, re-hashes anything that may have
changed (racy timestamps included), survives corruption and concurrent saves; parallel, pipelined
and BLAKE3 hashing give the same digests as hashlib."""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from pathlib import Path

import pytest

from prov_git.capture import files, hashcache, hashing
from tests.helpers import Repo


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digester(state: Path) -> hashcache.CachedDigester:
    cache = hashcache.HashCache(hashcache.cache_file(state, "sha256"))
    return hashcache.CachedDigester(cache, "sha256")


settled_digester = digester  # git's racy rule: no file needs to be older than the record to be stored


def items(*paths: Path) -> list[tuple[str, os.stat_result]]:
    return [(str(p), os.lstat(p)) for p in paths]


def test_unchanged_file_is_served_from_the_cache_without_reading(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"x" * 5000)
    first = settled_digester(tmp_path / "state")
    assert first.many(items(data)) == [sha(b"x" * 5000)]
    first.save()
    assert (first.stats.hashed, first.stats.stored) == (1, 1)

    second = settled_digester(tmp_path / "state")
    assert second.many(items(data)) == [sha(b"x" * 5000)]
    assert (second.stats.hits, second.stats.hashed, second.stats.bytes_hashed) == (1, 0, 0)


def test_same_size_and_restored_mtime_is_rehashed_because_ctime_moved(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"a" * 100)
    first = settled_digester(tmp_path / "state")
    first.many(items(data))
    first.save()
    before = os.stat(data)
    time.sleep(0.05)  # past the kernel's coarse clock tick, so ctime can move
    data.write_bytes(b"b" * 100)
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(data)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    second = settled_digester(tmp_path / "state")
    assert second.many(items(data)) == [sha(b"b" * 100)]
    assert (second.stats.hits, second.stats.hashed) == (0, 1)


def test_file_written_just_before_the_record_is_cached_by_it(tmp_path: Path) -> None:
    """Fails on main (entries were stored only for files 2 s older than the record): git's rule."""
    data = tmp_path / "fresh.txt"
    data.write_bytes(b"fresh")
    first = digester(tmp_path / "state")
    assert first.many(items(data)) == [sha(b"fresh")]
    first.save()
    assert (first.stats.stored, first.stats.not_stored) == (1, 0)

    again = digester(tmp_path / "state")
    assert again.many(items(data)) == [sha(b"fresh")]
    assert (again.stats.hits, again.stats.hashed) == (1, 0)


def test_racily_clean_entry_is_hashed_again_then_trusted(tmp_path: Path) -> None:
    """An entry whose file changed in the tick of the cache's own write is not trusted: the cache
    file is dated back to the file's ctime here, as a change in the same coarse clock tick looks."""
    data = tmp_path / "data.txt"
    data.write_bytes(b"racy")
    first = digester(tmp_path / "state")
    first.many(items(data))
    first.save()
    cache = hashcache.cache_file(tmp_path / "state", "sha256")
    ctime = os.stat(data).st_ctime_ns
    os.utime(cache, ns=(ctime, ctime))
    racy = digester(tmp_path / "state")
    assert racy.many(items(data)) == [sha(b"racy")]
    assert (racy.stats.hits, racy.stats.hashed, racy.stats.racy, racy.stats.stored) == (0, 1, 1, 1)
    racy.save()  # written now: later than the file
    settled = digester(tmp_path / "state")
    settled.many(items(data))
    assert (settled.stats.hits, settled.stats.hashed) == (1, 0)


@pytest.mark.parametrize(("mtime", "ctime", "horizon", "expected"), [
    (10, 20, 21, True), (10, 20, 20, False), (30, 20, 25, False),
    # whole-second ctime (FAT, some network file systems): a margin of RACY_NS
    (0, 5 * 10**9, 6 * 10**9, False), (0, 5 * 10**9, 5 * 10**9 + hashcache.RACY_NS + 1, True),
])
def test_trusted_is_gits_racy_rule(mtime: int, ctime: int, horizon: int, expected: bool,
                                   tmp_path: Path) -> None:
    assert hashcache.trusted((1, mtime, ctime, 7), horizon) is expected
    # The lookup loop of many() has the rule inlined: it must serve exactly the trusted entries.
    path = tmp_path / "f"
    path.write_bytes(b"x")
    real = os.lstat(path)
    st = os.stat_result([*real[:6], 1, 0, 0, 0, 0.0, 0.0, 0.0, 0, mtime, ctime])
    cache = hashcache.HashCache(tmp_path / "cache")
    cache._entries, cache._loaded_stat = {str(path): (1, mtime, ctime, st.st_ino, "ab" * 32)}, (0, horizon, 0, 0)
    served = hashcache.CachedDigester(cache, "sha256").many([(str(path), st)])
    assert (served == ["sha256:" + "ab" * 32]) is expected


def test_file_growing_while_hashed_is_not_cached_and_warned(tmp_path: Path) -> None:
    """Fails on main: the digest was of the grown file (read to EOF) under the old size, no warning."""
    for size in (5000, hashing.MMAP_MIN + hashing.SHA_SLICE + 3):  # read loop, then mmap in slices
        data = tmp_path / f"growing-{size}.bin"
        original = os.urandom(size)
        data.write_bytes(original)

        class Appender(hashing.Progress):
            def advance(self, n: int, target: Path = data) -> None:
                with open(target, "ab") as fh:
                    fh.write(b"more")

        digest, after = hashing.hash_path(str(data), "sha256", Appender(size))
        assert digest == sha(original) and after[0] > size  # the bytes seen at open, and the growth

    data = tmp_path / "log.txt"
    data.write_bytes(b"x" * 100)
    one = digester(tmp_path / "state")
    st = os.lstat(data)
    with open(data, "ab") as fh:  # between the record's lstat and its read
        fh.write(b"y")
    assert one.many([(str(data), st)]) == [sha(b"x" * 100)]
    assert (one.stats.stored, one.stats.not_stored) == (0, 1)
    assert len(one.warnings) == 1 and "100 -> 101 bytes" in one.warnings[0]


@pytest.mark.slow
def test_record_warns_about_an_input_that_grew_while_hashed(repo: Repo) -> None:
    """A file appended to while `record` hashes it (an output still being written): one warning."""
    import subprocess

    from tests.helpers import GIT_PROV

    repo.write("big.bin", "")
    with open(repo.path / "big.bin", "wb") as fh:
        fh.write(os.urandom(64 << 20))
    writer = subprocess.Popen(["sh", "-c", "while :; do printf x >> big.bin; done"], cwd=repo.path)
    try:
        result = subprocess.run([GIT_PROV, "record", "-i", "big.bin", "--", "true"], cwd=repo.path,
                                capture_output=True, text=True)
    finally:
        writer.kill()
        writer.wait()
    assert result.returncode == 0, result.stderr
    assert "changed while it was hashed" in result.stderr


def test_one_record_hashes_a_file_once_even_when_too_recent_to_store(tmp_path: Path) -> None:
    data = tmp_path / "fresh.txt"
    data.write_bytes(b"fresh")
    one = digester(tmp_path / "state")
    one.many(items(data))
    one(str(data), os.lstat(data))
    assert (one.stats.hashed, one.stats.hits) == (1, 1)


@pytest.mark.parametrize("garbage", [b"", b"garbage", hashcache.MAGIC + b"\0" * 32 + b"junk", "not-a-dict"])
def test_corrupt_cache_is_rebuilt(tmp_path: Path, garbage: bytes | str) -> None:
    state = tmp_path / "state"
    state.mkdir()
    cache_file = hashcache.cache_file(state, "sha256")
    if garbage == "not-a-dict":
        import marshal

        payload = marshal.dumps([1, 2, 3])
        cache_file.write_bytes(hashcache.MAGIC + hashlib.sha256(payload).digest() + payload)
    else:
        cache_file.write_bytes(garbage)  # type: ignore[arg-type]
    data = tmp_path / "data.txt"
    data.write_bytes(b"content")

    first = settled_digester(state)
    assert first.many(items(data)) == [sha(b"content")]
    first.save()
    assert cache_file.read_bytes().startswith(hashcache.MAGIC)
    second = settled_digester(state)
    assert second.many(items(data)) == [sha(b"content")]
    assert second.stats.hits == 1


def test_corrupt_cache_with_nothing_new_is_still_rewritten(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    cache_file = hashcache.cache_file(state, "sha256")
    cache_file.write_bytes(b"\xff" * 64)
    fresh = tmp_path / "fresh.txt"
    fresh.write_bytes(b"new")
    one = digester(state)
    one.many(items(fresh))
    one.save()
    assert cache_file.read_bytes().startswith(hashcache.MAGIC)


def test_a_bad_entry_is_a_miss_not_an_error(tmp_path: Path) -> None:
    import marshal

    state = tmp_path / "state"
    state.mkdir()
    data = tmp_path / "data.txt"
    data.write_bytes(b"content")
    payload = marshal.dumps({str(data): ("not", "an", "entry")})
    hashcache.cache_file(state, "sha256").write_bytes(
        hashcache.MAGIC + hashlib.sha256(payload).digest() + payload)
    one = settled_digester(state)
    assert one.many(items(data)) == [sha(b"content")]
    assert one.stats.hashed == 1


def test_concurrent_saves_keep_both_records_entries(tmp_path: Path) -> None:
    state = tmp_path / "state"
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"A")
    b.write_bytes(b"B")
    first, second = settled_digester(state), settled_digester(state)
    first.many(items(a))
    second.many(items(b))  # both loaded the (empty) cache before either saved
    first.save()
    second.save()
    third = settled_digester(state)
    assert third.many(items(a, b)) == [sha(b"A"), sha(b"B")]
    assert third.stats.hits == 2
    assert not [p for p in state.iterdir() if p.name.endswith(".tmp")]


def test_unwritable_state_dir_only_costs_a_rehash(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    data = tmp_path / "data.txt"
    data.write_bytes(b"content")
    one = settled_digester(blocker)
    assert one.many(items(data)) == [sha(b"content")]
    one.save()  # no exception


def test_parallel_batch_matches_hashlib_in_order(tmp_path: Path) -> None:
    blobs = [os.urandom(3 << 20) + bytes([i]) for i in range(5)] + [b"", b"small"]
    paths = []
    for i, blob in enumerate(blobs):
        path = tmp_path / f"f{i}"
        path.write_bytes(blob)
        paths.append((str(path), len(blob)))
    results = hashing.hash_many(paths, "sha256")
    assert [d for d, _ in results] == [sha(b) for b in blobs]


@pytest.mark.parametrize("size", [0, 1, hashing.CHUNK + 1, hashing.MMAP_MIN - 1, hashing.MMAP_MIN,
                                  2 * hashing.SHA_SLICE, 2 * hashing.SHA_SLICE + 12345])
def test_mapped_and_read_hashing_match_hashlib(tmp_path: Path, size: int) -> None:
    blob = os.urandom(size)
    path = tmp_path / "big.bin"
    path.write_bytes(blob)
    for mapped in (True, False):
        digest, after = hashing.hash_path(str(path), "sha256", mapped=mapped)
        assert digest == sha(blob)
        assert after == hashing.stat_key(os.stat(path))
    assert files.hash_file(str(path), "sha256") == sha(blob)


def test_unreadable_file_in_a_parallel_batch_is_an_input_error(tmp_path: Path) -> None:
    from prov_git.errors import InputError

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 << 20))
    with pytest.raises(InputError, match="cannot read"):
        hashing.hash_many([(str(big), 9 << 20), (str(tmp_path / "gone"), 1 << 20)], "sha256")


def test_blake3_large_file_matches_the_reference(tmp_path: Path) -> None:
    blake3 = pytest.importorskip("blake3")
    blob = os.urandom(hashing.BLAKE3_SLICE + 777)
    path = tmp_path / "big.bin"
    path.write_bytes(blob)
    assert hashing.hash_path(str(path), "blake3")[0] == "blake3:" + blake3.blake3(blob).hexdigest()


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_is_drawn_then_erased() -> None:
    out = FakeTerminal()
    bar = hashing.Progress(1000, stream=out, delay=0)
    bar.advance(500)
    bar.finish()
    text = out.getvalue()
    assert "hashing" in text and "50%" in text
    assert text.endswith("\r\x1b[K")


def test_no_progress_bar_when_not_a_terminal_or_fast() -> None:
    piped = io.StringIO()
    bar = hashing.Progress(1000, stream=piped, delay=0)
    bar.advance(1000)
    bar.finish()
    assert piped.getvalue() == ""
    quick = FakeTerminal()
    bar = hashing.Progress(1000, stream=quick, delay=60)
    bar.advance(1000)
    bar.finish()
    assert quick.getvalue() == ""


def stats(stderr: str) -> dict[str, int]:
    match = re.search(r"hash cache: (\d+) hits, (\d+) hashed \((\d+) bytes\), (\d+) stored", stderr)
    assert match, stderr
    return dict(zip(("hits", "hashed", "bytes", "stored"), map(int, match.groups()), strict=True))


def test_record_rereads_only_what_changed(repo: Repo) -> None:
    for i in range(20):
        repo.write(f"data/f{i:02}.csv", f"row,{i}\n")
    repo.write("model.txt", "weights\n")
    env = {"PROV_DEBUG_STATS": "1"}

    first = repo.prov("record", "-i", "data", "-i", "model.txt", "--", "true", env=env)
    assert first.code == 0, first.err
    total = sum(p.stat().st_size for p in (repo.path / "data").iterdir()) + len("weights\n")
    assert stats(first.err) == {"hits": 0, "hashed": 21, "bytes": total, "stored": 21}
    assert (repo.path / ".git" / "prov" / "hashcache-sha256").is_file()
    one = repo.newest()

    second = repo.prov("record", "-i", "data", "-i", "model.txt", "--", "true", env=env)
    assert stats(second.err) == {"hits": 21, "hashed": 0, "bytes": 0, "stored": 0}
    two = repo.newest()
    assert two["inputs"] == one["inputs"]

    # Same size, mtime put back: the change is still seen (ctime), hashed and stored again.
    target = repo.path / "data" / "f07.csv"
    before = os.stat(target)
    time.sleep(0.05)
    target.write_text("row,X\n")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    third = repo.prov("record", "-i", "data", "-i", "model.txt", "--", "true", env=env)
    assert stats(third.err) == {"hits": 20, "hashed": 1, "bytes": 6, "stored": 1}
    assert repo.newest()["inputs"][0]["digest"] != one["inputs"][0]["digest"]

    fourth = repo.prov("record", "-i", "data", "-i", "model.txt", "--", "true", env=env)
    assert stats(fourth.err)["hashed"] == 0  # older than the cache written by the third record


def test_record_digests_match_plain_hashing_and_cache_can_be_turned_off(repo: Repo) -> None:
    repo.write("a.txt", "alpha\n")
    repo.git("config", "prov.hashCache", "false")
    record = repo.record("-i", "a.txt", "--", "true")
    assert record["inputs"][0]["digest"] == sha(b"alpha\n")
    assert not (repo.path / ".git" / "prov" / "hashcache-sha256").exists()


def test_record_with_blake3(repo: Repo) -> None:
    blake3 = pytest.importorskip("blake3")
    repo.write("a.txt", "alpha\n")
    repo.git("config", "prov.hashAlgorithm", "blake3")
    record = repo.record("-i", "a.txt", "--", "true")
    assert record["inputs"][0]["digest"] == "blake3:" + blake3.blake3(b"alpha\n").hexdigest()
    assert record["recorder"]["hash_algorithm"] == "blake3"


def test_concurrent_records_share_the_cache_safely(repo: Repo) -> None:
    import subprocess

    from tests.helpers import GIT_PROV

    for i in range(30):
        repo.write(f"data/f{i:02}.csv", f"row,{i}\n")
    env = {**os.environ, "PROV_DEBUG_STATS": "1"}
    children = [subprocess.Popen([GIT_PROV, "record", "-i", "data", "--", "true"], cwd=repo.path, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(6)]
    results = [(c.wait(), c.stderr.read().decode()) for c in children if c.stderr is not None]
    assert all(code == 0 for code, _ in results), results
    assert len(repo.run_ids()) == 6
    cache = hashcache.cache_file(repo.path / ".git" / "prov", "sha256").read_bytes()
    assert cache.startswith(hashcache.MAGIC)
    after = repo.prov("record", "-i", "data", "--", "true", env={"PROV_DEBUG_STATS": "1"})
    assert stats(after.err)["hits"] == 30
    import json

    digests = {json.loads(repo.blob(run_id))["inputs"][0]["digest"] for run_id in repo.run_ids()}
    assert digests == {repo.newest()["inputs"][0]["digest"]}


def test_manifest_encoding_is_exactly_canonical_json() -> None:
    """encode_manifest writes plain file entries by hand (a re-record's cost): byte for byte what
    json.dumps(sort_keys, no spaces, UTF-8) writes, for any name, size and entry shape."""
    import json

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from prov_git.records.manifest import encode_manifest

    names = st.text(st.characters(codec="utf-8"), max_size=12)
    plain = st.fixed_dictionaries({"path": names, "type": st.just("file"),
                                   "size": st.integers(min_value=-1, max_value=1 << 70), "digest": names})
    other = st.dictionaries(st.sampled_from(["path", "type", "size", "digest", "target"]),
                            st.one_of(names, st.integers(), st.booleans(), st.none(), st.just("file")))

    @settings(max_examples=300, deadline=None)
    @given(names, st.lists(st.one_of(plain, other), max_size=6))
    def check(rel: str, entries: list[dict[str, object]]) -> None:
        body = {"path": rel, "files": entries}
        expected = (json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        assert encode_manifest(rel, entries) == expected

    check()
