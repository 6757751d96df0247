"""kentei (検定): a Japanese-language LLM evaluation suite."""

__version__ = "0.1.0"
SCHEMA_VERSION = 1
