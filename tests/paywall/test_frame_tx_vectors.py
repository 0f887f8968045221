"""The signer frame's transaction-codec vectors are exactly what xrpl-py makes.

static/js/test/frame/txcodec.test.js decodes and re-encodes them in the frame's own codec; this
test makes sure the committed file cannot drift from xrpl-py (regenerate it with
`.venv/bin/python -m tests.fixtures.tx_vectors --write`).
"""

from __future__ import annotations

import json

from xrpl.core.binarycodec import decode

from tests.fixtures.tx_vectors import VECTORS_PATH, build_vectors, render


def test_the_committed_vectors_are_xrpl_pys() -> None:
    assert VECTORS_PATH.read_text() == render(build_vectors())


def test_every_vector_reads_back_in_xrpl_py() -> None:
    vectors = json.loads(VECTORS_PATH.read_text())
    for vector in vectors["vectors"]:
        signed = decode(vector["signed_blob"])
        assert signed == {**vector["tx_json"], "TxnSignature": vector["txn_signature"]}
        assert decode(vector["signing_blob"][8:]) == vector["tx_json"]
