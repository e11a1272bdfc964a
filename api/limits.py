"""Rate limiting; the storage is shared by all processes in production (RATELIMIT_STORAGE_URI)."""
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])
