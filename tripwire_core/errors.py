"""Every error tripwire raises, in two families.

*Refusals* are raised at call time, inside the code under test, when a call
breaks the script or the driver's state machine.  Drivers may blend them
with the real driver's exception class so production ``except`` clauses
behave as they would against a real database.

*Verification failures* are raised by assertions and by ``verify_all()``.
They subclass :class:`AssertionError`, as pytest users expect.
"""

from __future__ import annotations

import sys
import types

__all__ = [
    "ClientCheckError",
    "ConfigurationError",
    "InteractionMismatchError",
    "InvalidStateError",
    "MissingAssertionFieldsError",
    "NotSupportedError",
    "RefusalError",
    "SandboxClosedError",
    "StepMismatchError",
    "TripwireError",
    "UnacknowledgedRefusalsError",
    "UnassertedInteractionsError",
    "UnmockedInteractionError",
    "UnusedMocksError",
    "VerificationError",
    "blend_refusal",
]


class TripwireError(Exception):
    """Base class of every exception tripwire defines."""


class ConfigurationError(TripwireError, ValueError):
    """A script, driver definition or API call is malformed (raised at once)."""


class RefusalError(TripwireError):
    """A call was refused while the code under test ran.

    Refusals are remembered by the verifier: one the code under test swallows
    still fails the test at teardown unless the test acknowledges it with
    ``verifier.acknowledge_refusals()``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.acknowledged = False
        self.explanation: str | None = None

    def explain(self, text: str) -> None:
        """Attach tripwire's explanation to an error worded like the real driver's.

        ``str()`` stays the driver's message, so code under test that reads it
        behaves as in production; the explanation is an exception note, which
        tracebacks (and pytest, on every supported Python) print.
        """
        self.explanation = text
        if sys.version_info >= (3, 11):
            self.add_note(text)
        else:  # pragma: no cover - the notes protocol without add_note()
            self.__notes__ = [*getattr(self, "__notes__", []), text]

    def report(self) -> str:
        """The message and the explanation, for teardown reports."""
        return str(self) if self.explanation is None else f"{self}\n{self.explanation}"


class InvalidStateError(RefusalError):
    """The step is not legal in the connection's current state."""


class UnmockedInteractionError(RefusalError):
    """A call happened that no script provides for."""


class StepMismatchError(RefusalError):
    """The call is not the step the session's script expects next."""


class SandboxClosedError(RefusalError):
    """A fake object was used after the sandbox it was created in closed."""


class ClientCheckError(RefusalError):
    """A check the real driver performs on the client side failed."""


class NotSupportedError(RefusalError, NotImplementedError):
    """The fake does not implement this part of the driver's API."""


class VerificationError(TripwireError, AssertionError):
    """Base class of the failures raised by assertions and ``verify_all()``."""


class UnassertedInteractionsError(VerificationError):
    """Interactions were recorded that the test never asserted."""


class UnusedMocksError(VerificationError):
    """Required scripted steps were never used."""


class InteractionMismatchError(VerificationError):
    """An assertion does not match the interaction it was compared with."""


class MissingAssertionFieldsError(VerificationError):
    """An assertion left out fields the interaction recorded."""


class LeakedResourcesError(VerificationError):
    """The test left resources open: a pooled connection, a transaction."""


class UnacknowledgedRefusalsError(VerificationError):
    """Calls were refused and nobody acknowledged the refusal."""


_blended: dict[tuple[type[RefusalError], type[BaseException]], type[RefusalError]] = {}


def blend_refusal(refusal: type[RefusalError], native: type[BaseException]) -> type[RefusalError]:
    """Return a subclass of both *refusal* and the driver's *native* class.

    The tripwire class comes first in the MRO so its constructor runs, while
    ``except native`` in the code under test still catches the error.
    """
    if issubclass(refusal, native):
        return refusal
    cached = _blended.get((refusal, native))
    if cached is not None:
        return cached
    namespace = {"__module__": refusal.__module__, "__qualname__": refusal.__qualname__}
    blended = types.new_class(
        refusal.__name__, (refusal, native), exec_body=lambda ns: ns.update(namespace)
    )
    _blended[(refusal, native)] = blended
    return blended
