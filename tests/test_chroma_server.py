"""The server path: the index built into a real `chroma run` on a free loopback port, answers through it, a clear
error while it is down, and answers again once it is back on the same data."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import free_port, make_settings, run_tutor, stop_process

from tutor.builder import build_indexer, build_tutor
from tutor.stores import StoreUnavailableError

pytestmark = pytest.mark.server
CHROMA = Path(sys.executable).parent / "chroma"


def answering(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def chroma_server(path: Path, port: int, log: Path):
    """`chroma run` on 127.0.0.1:port, waited for, and always stopped."""
    url = f"http://127.0.0.1:{port}"
    with open(log, "ab") as output:
        server = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--port", str(port), "--host", "127.0.0.1"],
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not answering(url):
            assert server.poll() is None, f"chroma run exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"chroma run did not answer within 60 s: {log.read_text()[-2000:]}"
            time.sleep(0.2)
        yield url
    finally:
        stop_process(server)


def test_build_and_ask_through_a_chroma_server_that_stops_and_restarts(tmp_path, real_embedder):
    port, store_path, log = free_port(), tmp_path / "chroma-server", tmp_path / "chroma.log"
    settings = make_settings(tmp_path / "data")
    settings.retrieval.chroma_url = f"http://127.0.0.1:{port}"
    question = "How do I report a problem with an AI medical device?"

    with chroma_server(store_path, port, log) as url:
        report = build_indexer(settings, real_embedder).build()
        assert not (Path(report.path) / "chroma").exists()  # the vectors live in the server, not the data dir
        tutor = build_tutor(settings, embedder=real_embedder)
        before = tutor.ask(question)
        assert "yellow-card" in {c.doc_id for c in before.citations}
        assert tutor.retriever.index.store.count() == report.chunks

    assert not answering(url)
    with pytest.raises(StoreUnavailableError) as caught:
        tutor.ask(question)
    assert url in str(caught.value)
    with pytest.raises(StoreUnavailableError, match=f"cannot reach the Chroma server at {url}.*chroma run"):
        build_tutor(settings, embedder=real_embedder)
    result = run_tutor("ask", "--json", question, env={"TUTOR_PATHS__DATA_DIR": str(settings.paths.data_dir),
                                                        "TUTOR_PATHS__CORPUS_DIR": str(settings.paths.corpus_dir),
                                                        "TUTOR_RETRIEVAL__CHROMA_URL": url})
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert f"error: cannot reach the Chroma server at {url}" in result.stderr

    with chroma_server(store_path, port, log):  # the same data, the same port
        again = tutor.ask(question)  # the tutor that saw the outage recovers without a restart
        assert again.model_dump(exclude={"latency_ms"}) == before.model_dump(exclude={"latency_ms"})
        fresh = build_tutor(settings, embedder=real_embedder).ask(question)
        assert fresh.model_dump(exclude={"latency_ms"}) == before.model_dump(exclude={"latency_ms"})
