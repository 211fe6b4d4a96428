# Copyright: (c) 2026, nfv.vhostuser contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the collection's binary modules in one round trip on a host that has seen them.

Ansible never pipelines a binary module: each task creates a temporary directory, copies the
binary and an args file, chmods them, runs the module and removes the directory, each a round
trip. The collection's modules are one multi-call binary (plugins/modules/<name> are hard links of it), so
this action keeps it on the host in a cache named by its SHA-256, in a directory the user running
the module owns and alone can write, and each task is one command: check the hash, run the
cached binary with the arguments on standard input. On a miss the binary is sent once, verified,
installed, and run in the same command.

The cache is <remote_tmp>/nfv.vhostuser. Where that cannot be made (a read-only home) or cannot
execute programs (a noexec home, which is then marked so), the next candidates are
<system_tmpdir>/nfv.vhostuser-<uid> in each of Ansible's system_tmpdirs (/var/tmp, /tmp): a
directory of the user's own, not a link, in a root-owned sticky directory, so no other user can
swap it.

Everything else is Ansible's own module execution (argument building, environment, result
parsing, check mode, diff, no_log), reached through the ``normal`` action: only the transfers
and the final command are replaced. Where stdin cannot carry the arguments (async, kept remote
files, su and other become methods that need a tty, non-POSIX shells, connections without
pipelining support) or no cache directory can be used (none the user alone can write, all
noexec, no sha256sum), the plain binary-module path runs instead.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex

from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.utils.display import Display

display = Display()

# Printed by the remote command instead of running the module: the cache lacks the binary.
MISS = "NFV-VHOSTUSER-CACHE-MISS"
# Printed when the binary cannot be cached or run from the cache (then the plain path runs).
UNUSABLE = "NFV-VHOSTUSER-CACHE-UNUSABLE"
# Printed, with the cache directory, just before the cached binary is executed: from then on
# the module has run, unless NOEXEC follows.
STARTED = "NFV-VHOSTUSER-CACHE-RUN"
# Printed when the cached binary could not be executed (rc 126: noexec, a denying policy): the
# directory is marked with a file of this name and the next candidate is tried.
NOEXEC = "NFV-VHOSTUSER-CACHE-NOEXEC"
MARKERS = (MISS, UNUSABLE, STARTED, NOEXEC)
# A remote_tmp the command can use unquoted (a leading ~ is expanded by the remote shell).
PLAIN_PATH = re.compile(r"^~?[A-Za-z0-9_./-]*$")
# Become methods known to pass standard input through to the command.
STDIN_BECOME = ("sudo",)
# Cached binaries of other versions untouched for this many days are removed on an install.
KEEP_DAYS = 7


def binary_digest(path):
    """The SHA-256 of the file at path, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_elf(path):
    """Whether the file at path is an ELF executable (a module file another collection or a
    library/ directory put in its place may be a script)."""
    with open(path, "rb") as handle:
        return handle.read(4) == b"\x7fELF"


class CachedBinaryAction(NormalAction):
    """The ``normal`` action, with the module run from the host's cache when it can be."""

    _nfv_fast = None

    def _execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, wrap_async=False, **kwargs):
        fast = self._nfv_plan(module_name, wrap_async)
        if fast is not None:
            self._nfv_fast = fast
            try:
                result = super()._execute_module(module_name, module_args, tmp, task_vars, wrap_async=wrap_async, **kwargs)
            finally:
                self._nfv_fast = None
                self._connection._shell.tmpdir = None
            if not fast["fall_back"]:
                return result
            display.vvv("nfv.vhostuser: %s; running the module the plain way" % fast["fall_back"])
        return super()._execute_module(module_name, module_args, tmp, task_vars, wrap_async=wrap_async, **kwargs)

    def _nfv_plan(self, module_name, wrap_async):
        """What the fast path needs, or None (with the reason at -vvv) when it cannot be taken."""
        reason = None
        become = self._connection.become
        remote_tmp = self.get_shell_option("remote_tmp", default="~/.ansible/tmp")
        system_tmpdirs = self.get_shell_option("system_tmpdirs", default=["/var/tmp", "/tmp"]) or []
        if wrap_async or self._task.async_val:
            reason = "async runs through async_wrapper"
        elif C.DEFAULT_KEEP_REMOTE_FILES:
            reason = "ANSIBLE_KEEP_REMOTE_FILES keeps the module's files on the host"
        elif not self._connection.has_pipelining:
            reason = "the %s connection cannot send the arguments on standard input" % self._connection.transport
        elif getattr(self._connection._shell, "SHELL_FAMILY", None) != "sh":
            reason = "the remote shell is not a POSIX shell"
        elif become is not None and become.name not in STDIN_BECOME:
            reason = "become method %s needs the plain path" % become.name
        elif not isinstance(remote_tmp, str) or not PLAIN_PATH.match(remote_tmp.rstrip("/")):
            reason = "remote_tmp %r needs quoting" % (remote_tmp,)
        if reason is None:
            found = self._shared_loader_obj.module_loader.find_plugin(module_name or self._task.action, collection_list=self._task.collections)
            if found is None or not os.path.isfile(found):
                reason = "the module's file was not found"
            elif not is_elf(found):
                reason = "%s is not the collection's binary" % found
        if reason is not None:
            display.vvv("nfv.vhostuser: plain binary-module path: %s" % reason)
            return None
        binary = os.path.realpath(found)
        primary = remote_tmp.rstrip("/") + "/nfv.vhostuser"
        system = [t.rstrip("/") for t in system_tmpdirs if isinstance(t, str) and t.rstrip("/") and PLAIN_PATH.match(t.rstrip("/"))]
        return {
            "binary": binary,
            "digest": binary_digest(binary),
            "dir": primary,
            # $(id -u) is expanded on the host, by the user the module runs as.
            "dirs": [primary] + [t + "/nfv.vhostuser-$(id -u)" for t in system],
            "system_tmpdirs": system,
            "fall_back": None,
        }

    # While a fast run is planned, Ansible's own steps that would make a temporary directory,
    # copy the module and its args, fix their modes and remove them are skipped; the args are
    # kept for standard input.

    def _make_tmp_path(self, remote_user=None):
        if self._nfv_fast is None:
            return super()._make_tmp_path(remote_user)
        self._connection._shell.tmpdir = self._nfv_fast["dir"]
        return self._nfv_fast["dir"]

    def _transfer_file(self, local_path, remote_path):
        if self._nfv_fast is None:
            return super()._transfer_file(local_path, remote_path)
        return remote_path

    def _transfer_data(self, remote_path, data):
        if self._nfv_fast is None:
            return super()._transfer_data(remote_path, data)
        if remote_path.endswith("/args"):
            self._nfv_fast["args"] = data if isinstance(data, bytes) else data.encode("utf-8")
        return remote_path

    def _fixup_perms2(self, remote_paths, remote_user=None, execute=True):
        if self._nfv_fast is None:
            return super()._fixup_perms2(remote_paths, remote_user, execute)
        return remote_paths

    def _remove_tmp_path(self, tmp_path, force=False):
        if self._nfv_fast is None:
            return super()._remove_tmp_path(tmp_path, force)
        return None

    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None, *args, **kwargs):
        fast = self._nfv_fast
        if fast is None or "args" not in fast or fast.get("ran"):
            return super()._low_level_execute_command(cmd, sudoable, in_data, *args, **kwargs)
        fast["ran"] = True
        env = self._compute_environment_string()
        res = super()._low_level_execute_command(self._nfv_run_command(fast, env), sudoable, fast["args"], *args, **kwargs)
        if self._nfv_outcome(fast, res) == MISS:
            res = self._nfv_install_and_run(fast, env, sudoable, *args, **kwargs)
            self._nfv_outcome(fast, res)
        if fast["fall_back"]:
            # Ansible parses this placeholder; the plain path then runs the module.
            return dict(rc=0, stdout="{}", stderr="", stdout_lines=["{}"], stderr_lines=[])
        return res

    def _nfv_outcome(self, fast, res):
        """Takes the command's markers out of its output; sets fall_back when the module did not run."""
        lines = res.get("stdout", "").splitlines(True)
        started = False
        for line in lines:
            marker = line.strip()
            if marker.startswith(STARTED + " "):
                started = True
                display.vvv("nfv.vhostuser: running the cached binary in %s" % marker[len(STARTED) + 1:])
            elif marker == NOEXEC:
                started = False
                display.vvv("nfv.vhostuser: that directory cannot execute it; marked, trying the next")
        kept = [line for line in lines if line.strip().split(" ")[0] not in MARKERS]
        res["stdout"] = "".join(kept)
        if "stdout_lines" in res:
            res["stdout_lines"] = res["stdout"].splitlines()
        if any(line.strip() == MISS for line in lines):
            return MISS
        if any(line.strip() == UNUSABLE for line in lines):
            fast["fall_back"] = "no cache directory on the host can be used (%s)" % (res.get("stderr", "").strip() or "see -vvvv")
        elif not started:
            fast["fall_back"] = "the cached run did not start (rc %s: %s)" % (res.get("rc"), res.get("stderr", "").strip())
        elif res.get("rc") in (126, 127) and not res["stdout"].strip():
            fast["fall_back"] = "the cached binary could not be executed (%s)" % res.get("stderr", "").strip()
        return None

    def _nfv_install_and_run(self, fast, env, sudoable, *args, **kwargs):
        """The one transfer for this collection version: send, verify, install and run."""
        tmpdir = self._nfv_transfer_dir(fast)
        try:
            sent = self._connection._shell.join_path(tmpdir, "nfv_vhostuser")
            super()._transfer_file(fast["binary"], sent)
            super()._fixup_perms2([tmpdir, sent], execute=False)
            return super()._low_level_execute_command(self._nfv_install_command(fast, env, sent), sudoable, fast["args"], *args, **kwargs)
        finally:
            super()._remove_tmp_path(tmpdir)
            self._connection._shell.tmpdir = None

    def _nfv_transfer_dir(self, fast):
        """A temporary directory to send the binary through: Ansible's own under remote_tmp, or,
        where that cannot be made (a read-only home), one in the first of system_tmpdirs, if it
        exists."""
        try:
            return super()._make_tmp_path()
        except AnsibleConnectionFailure as failure:
            if not fast["system_tmpdirs"]:
                raise failure
            first = fast["system_tmpdirs"][0]
            shell = self._connection._shell
            basefile = shell._generate_temp_dir_name()
            made = "test -d %s && %s" % (first, shell.mkdtemp(basefile=basefile, system=True, tmpdir=first))
            res = super()._low_level_execute_command(made, sudoable=False)
            path = res.get("stdout", "").strip().split("%s=" % basefile, 1)
            if res.get("rc") != 0 or len(path) != 2 or not path[1].strip().startswith("/"):
                raise failure
            display.vvv("nfv.vhostuser: %s; sending the binary through %s" % (failure, path[1].strip()))
            self._cleanup_remote_tmp = True
            shell.tmpdir = path[1].strip()
            return shell.tmpdir

    @staticmethod
    def _nfv_prelude(fast, env):
        """Shell that defines: usable (a cache directory the user owns, not a link, that no one
        else can write, in a parent the user owns alike or a root-owned sticky one, so neither
        can be swapped; and not marked noexec in the last KEEP_DAYS days), verified (a file's owner
        and hash), prepare (makes the cache directories that can be made: remote_tmp's with its
        parents, a system tmpdir's only inside an existing system tmpdir), run_from (runs a
        binary; on rc 126 marks its directory, removes the binary and returns, so the next
        directory is tried) and none_usable (says that no directory can be used)."""
        values = dict(
            digest=fast["digest"],
            started=STARTED,
            noexec=NOEXEC,
            unusable=UNUSABLE,
            env=env.strip(),
            days=KEEP_DAYS,
            primary=fast["dir"],
            dirs=" ".join(fast["dirs"]),
            shown=", ".join(fast["dirs"]),
        )
        return (
            "umask 077; "
            "mine() { [ -d \"$1\" ] && [ -O \"$1\" ] && case $(ls -ldn \"$1\") in d????-??-*) true ;; *) false ;; esac; }; "
            "sticky() { set -- $(ls -ldn \"$1\" 2>/dev/null); case \"$1\" in d????????[tT]*) [ \"$3\" = 0 ] ;; *) false ;; esac; }; "
            "usable() { [ ! -L \"$1\" ] && mine \"$1\" && { mine \"$1/..\" || sticky \"$1/..\"; } && "
            "{ [ ! -e \"$1/noexec\" ] || [ -n \"$(find \"$1/noexec\" -mtime +%(days)d 2>/dev/null)\" ]; }; }; "
            "verified() { [ -O \"$1\" ] && [ \"$(sha256sum <\"$1\" 2>/dev/null)\" = '%(digest)s  -' ]; }; "
            "prepare() { for c in %(primary)s; do [ -d \"$c\" ] || [ -L \"$c\" ] || mkdir -p \"$c\" 2>/dev/null; done; "
            "for c in %(dirs)s; do [ -d \"$c\" ] || [ -L \"$c\" ] || mkdir \"$c\" 2>/dev/null; done; }; "
            "run_from() { echo %(started)s \"$2\"; %(env)s \"$1\" -; r=$?; [ $r -eq 126 ] || exit $r; "
            ": >\"$2/noexec\" 2>/dev/null; rm -f \"$1\"; echo %(noexec)s; }; "
            "none_usable() { echo %(unusable)s; echo \"none of %(shown)s is a directory only $(id -un) can write, "
            "where a verified binary (sha256sum) can be installed and executed\" >&2; }; " % values
        )

    def _nfv_run_command(self, fast, env):
        # A miss asks for the binary only where a directory can take it; with none, the plain
        # path runs at once rather than after a transfer that cannot be installed.
        return self._nfv_prelude(fast, env) + (
            "for d in %(dirs)s; do b=\"$d/%(digest)s\"; if usable \"$d\" && verified \"$b\"; then run_from \"$b\" \"$d\"; fi; done; "
            "prepare; for d in %(dirs)s; do if usable \"$d\"; then echo %(miss)s; exit 0; fi; done; none_usable"
            % dict(dirs=" ".join(fast["dirs"]), digest=fast["digest"], miss=MISS)
        )

    def _nfv_install_command(self, fast, env, sent):
        return self._nfv_prelude(fast, env) + (
            "prepare; for d in %(dirs)s; do usable \"$d\" || continue; "
            # The host's name too: a home shared over NFS is written by several hosts.
            "b=\"$d/%(digest)s\"; t=\"$b.$(uname -n).$$\"; "
            "if cp %(sent)s \"$t\" && verified \"$t\" && chmod 0700 \"$t\" && mv -f \"$t\" \"$b\"; then "
            "find \"$d\" -maxdepth 1 -type f ! -name %(digest)s -mtime +%(days)d -exec rm -f {} + 2>/dev/null; "
            "run_from \"$b\" \"$d\"; else rm -f \"$t\"; fi; done; none_usable"
            % dict(dirs=" ".join(fast["dirs"]), digest=fast["digest"], sent=shlex.quote(sent), days=KEEP_DAYS)
        )
