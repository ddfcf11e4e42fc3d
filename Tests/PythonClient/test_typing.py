"""The package ships its type marker; `bash .ci/run` checks its types with `mypy --strict` before
the suite (a minute of a core that the suite's timing-sensitive tests should not share)."""

import os

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "Sources", "tenantbreaker-python", "tenantbreaker")


def test_the_package_ships_its_type_marker():
    assert os.path.exists(os.path.join(PACKAGE, "py.typed"))
