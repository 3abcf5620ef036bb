"""Loam's Python SDK: ``from loam import Client``."""

from ._client import backoff_delay
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    JobFailedError,
    LoamError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    ValidationError,
)
from ._main import AsyncClient, Client
from .events import WebhookVerificationError, verify_webhook
from ._models import (
    ApiKey,
    AuditEntry,
    BusMessage,
    ChannelSchema,
    Dataset,
    DatasetExport,
    DatasetImport,
    DatasetIndex,
    DatasetVersion,
    ExportJob,
    Generation,
    GenerationPart,
    ImportJob,
    InsertResult,
    Job,
    LlmModel,
    LlmSettings,
    LlmUsageReport,
    MailboxMessage,
    Policy,
    Record,
    Recognizer,
    Retention,
    Session,
    SessionToken,
    SigningKey,
    User,
)
from ._pagination import AsyncPager, Page, SyncPager
from ._streaming import ServerSentEvent, aiter_sse, iter_sse

__version__ = "0.1.0"

__all__ = [
    "verify_webhook",
    "WebhookVerificationError",
    "Client", "AsyncClient", "LoamError", "APIError", "BadRequestError", "ValidationError", "AuthenticationError",
    "PermissionDeniedError", "NotFoundError", "ConflictError", "PreconditionFailedError", "RateLimitError",
    "InternalServerError", "APIConnectionError", "APITimeoutError", "JobFailedError", "Dataset", "DatasetVersion",
    "Record", "InsertResult", "Job", "DatasetExport", "DatasetImport", "DatasetIndex", "ExportJob", "ImportJob",
    "ApiKey", "Policy", "AuditEntry", "Recognizer", "Page", "SyncPager", "AsyncPager", "ServerSentEvent",
    "iter_sse", "aiter_sse", "backoff_delay", "BusMessage", "Session", "ChannelSchema", "Retention", "SessionToken",
    "Generation", "GenerationPart", "LlmModel", "LlmUsageReport", "LlmSettings",
    "User", "SigningKey", "MailboxMessage",
]
