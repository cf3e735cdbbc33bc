"""Property-based mutation fuzzing of every loader of user files (issue 18): model files,
state dicts, checkpoints, .npy/.npz, IDX, WAV and CIFAR binaries, mutated by bit flips,
truncations, header fields, JSON header edits and hostile architectures. Each input is loaded
in a child process with a time limit and an address-space cap; the only outcomes allowed are
"loaded" and the target's documented error — no other exception, hang, crash, memory beyond a
small multiple of the file's size, or code execution (a canary file that hostile inputs try to
create). A short fixed-seed run; ``make fuzz`` runs a longer campaign."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .campaign import Fuzzer
from .supervisor import FAILURES

EXAMPLES = 150  # per target; the whole module takes about 20 s on a loaded machine


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory):
    fuzzer = Fuzzer(tmp_path_factory.mktemp("fuzz"))
    yield fuzzer
    fuzzer.close()


@pytest.mark.parametrize("target", ["model", "state", "checkpoint", "npy", "npz", "idx", "wav",
                                    "cifar"])
def test_mutated_inputs_load_or_raise_the_documented_error(fuzzer, target):
    seen = []

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(seed=st.integers(0, 10),
           steps=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 2**32 - 1)),
                          min_size=1, max_size=3))
    def check(seed, steps):
        result = fuzzer.try_one(target, seed, steps)
        seen.append(result["category"])
        assert result["category"] not in FAILURES, result

    check()
    assert len(seen) >= EXAMPLES and "refused" in seen  # the fuzzer reached the checks


def test_the_seeds_load_and_the_pickle_bombs_are_refused(fuzzer):
    for target, paths in fuzzer.seeds.items():
        for path in paths:
            result = fuzzer.supervisor.run(target, path)
            expected = "refused" if path.stem.startswith("bomb") else "ok"
            assert result["category"] == expected, (target, path.name, result)
