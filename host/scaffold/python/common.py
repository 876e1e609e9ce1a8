import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types

# `reads=None`: every part of the event. Name only what the plugin reads, e.g.
# `types.EventParts.TAGS | types.EventParts.USER`, and the host passes the rest
# empty: less data shown to the plugin, less copied per event.
METADATA = types.PluginMetadata(name="__NAME__", version="0.1.0", description="__DESCRIPTION__", reads=None)


def parse_config(text, defaults):
    """The stage config (JSON text) over `defaults`; unknown keys are refused."""
    parsed = json.loads(text or "{}")
    if not isinstance(parsed, dict):
        raise Err(types.PluginError_InvalidConfig("the config must be a table"))
    unknown = sorted(set(parsed) - set(defaults))
    if unknown:
        raise Err(types.PluginError_InvalidConfig(f"unknown keys {unknown}; expected {sorted(defaults)}"))
    return {**defaults, **parsed}
