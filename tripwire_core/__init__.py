"""tripwire_core: the driver-agnostic engine of tripwire.

This package is the driver-author API: everything a driver (built-in or
your own) may use.  It imports no database library.
"""

from .driver import (
    ENTRY_POINT_GROUP,
    DriverPlugin,
    NativeErrors,
    driver_names,
    get_driver,
    register_driver,
    unregister_driver,
)
from .errors import (
    ClientCheckError,
    ConfigurationError,
    InteractionMismatchError,
    InvalidStateError,
    LeakedResourcesError,
    MissingAssertionFieldsError,
    NotSupportedError,
    RefusalError,
    SandboxClosedError,
    StepMismatchError,
    TripwireError,
    UnacknowledgedRefusalsError,
    UnassertedInteractionsError,
    UnmockedInteractionError,
    UnusedMocksError,
    VerificationError,
    blend_refusal,
)
from .machine import StateMachine
from .patching import AttributePatch, FunctionCodePatch, Patch
from .sandbox import Sandbox, current_sandbox
from .sessions import Session, SessionHandle
from .steps import NOTHING, ScriptedStep, Step
from .timeline import Interaction, Timeline
from .verifier import StrictVerifier, current_verifier, use_verifier

__all__ = [
    # verifying
    "StrictVerifier",
    "Sandbox",
    "current_verifier",
    "use_verifier",
    "current_sandbox",
    # defining drivers
    "DriverPlugin",
    "Step",
    "StateMachine",
    "Session",
    "SessionHandle",
    "ScriptedStep",
    "Interaction",
    "Timeline",
    "Patch",
    "AttributePatch",
    "FunctionCodePatch",
    "NOTHING",
    "register_driver",
    "unregister_driver",
    "get_driver",
    "driver_names",
    "ENTRY_POINT_GROUP",
    "NativeErrors",
    # errors
    "TripwireError",
    "ConfigurationError",
    "RefusalError",
    "InvalidStateError",
    "UnmockedInteractionError",
    "StepMismatchError",
    "SandboxClosedError",
    "ClientCheckError",
    "NotSupportedError",
    "VerificationError",
    "UnassertedInteractionsError",
    "UnusedMocksError",
    "InteractionMismatchError",
    "MissingAssertionFieldsError",
    "UnacknowledgedRefusalsError",
    "LeakedResourcesError",
    "blend_refusal",
]
