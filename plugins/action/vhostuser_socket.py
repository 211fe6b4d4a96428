# Copyright: (c) 2026, nfv.vhostuser contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs nfv.vhostuser.vhostuser_socket from the host's binary cache in one round trip (see plugin_utils/cached_binary.py)."""

from __future__ import annotations

from ansible_collections.nfv.vhostuser.plugins.plugin_utils.cached_binary import CachedBinaryAction


class ActionModule(CachedBinaryAction):
    """The vhostuser_socket module, run from the host's cache when it can be, else the plain way."""
