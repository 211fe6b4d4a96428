# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-lint's `args` rule, taught to check binary modules against their sidecar docs.

ansible-lint checks a task's arguments by importing the module file as Python and running it
with a stand-in AnsibleModule. A binary module (Rust, Go, C) cannot be imported: in
ansible-lint 26 reading it as text raises, and the exception drops the `args` rule for every
task of the file, so a misspelt option in an ansible.builtin task goes unreported too.

Loaded from a `rulesdir` (see docs/ansible-lint.yml), this file extends the built-in rule in
place, so its id, tags, profiles and `# noqa: args` comments stay as they are: a task whose
module resolves to a binary file is checked against the module's sidecar documentation
(`<module>.yml` next to the binary, the file ansible-doc reads) with ansible-core's own
argument validator; every other task goes through the built-in rule unchanged.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.loader import module_loader

from ansiblelint.rules import args as builtin_args
from ansiblelint.text import has_jinja

if TYPE_CHECKING:
    from ansiblelint.errors import MatchError
    from ansiblelint.file_utils import Lintable
    from ansiblelint.utils import Task

# The keys of a documented option that mean the same in an argument spec. A documented default
# is left out: it may be a description rather than a value, and a task's own values are what is
# checked.
_SPEC_KEYS = ("type", "elements", "choices", "required", "aliases", "no_log")
# The bytes ansible-core's module_common._is_binary counts as text.
_TEXT_BYTES = bytearray({7, 8, 9, 10, 12, 13, 27} | set(range(0x20, 0x100)) - {0x7F})


def is_binary(path: Path) -> bool:
    """Return True when Ansible would run the file as a binary module."""
    try:
        with path.open("rb") as handle:
            return bool(handle.read(1024).translate(None, _TEXT_BYTES))
    except OSError:
        return False


def sidecar_of(path: Path) -> Path | None:
    """Return the module's sidecar documentation file, where ansible-doc finds it."""
    for suffix in (".yml", ".yaml"):
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def argument_spec(options: dict[str, Any] | None) -> dict[str, Any]:
    """Return the argument spec that documented options describe."""
    spec: dict[str, Any] = {}
    for name, doc in (options or {}).items():
        doc = doc or {}
        entry = {key: doc[key] for key in _SPEC_KEYS if key in doc}
        entry.setdefault("type", "str")
        if "suboptions" in doc:
            entry["options"] = argument_spec(doc["suboptions"])
        spec[name] = entry
    return spec


def sidecar_errors(module_name: str, sidecar: Path, module_args: dict[str, Any]) -> list[str]:
    """Return the messages the module would fail with, worded as AnsibleModule words them."""
    docs = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
    options = (docs.get("DOCUMENTATION") or {}).get("options")
    result = ArgumentSpecValidator(argument_spec(options)).validate(module_args)
    messages = []
    for error in result.errors:
        if isinstance(error, UnsupportedError):
            messages.append(f"Unsupported parameters for ({module_name}) module: {error.msg}")
        else:
            messages.append(error.msg)
    return messages


def extend(rule_class: type[builtin_args.ArgsRule]) -> None:
    """Make the rule check binary modules against their sidecars, once."""
    builtin_matchtask = rule_class.matchtask
    if getattr(builtin_matchtask, "checks_binary_modules", False):
        return

    def matchtask(self: builtin_args.ArgsRule, task: Task, file: Lintable | None = None) -> list[MatchError]:
        """Check a binary module's task against its sidecar; leave any other task to the rule."""
        module_name = task["action"]["__ansible_module_original__"]
        if module_name in self.module_aliases:
            return []
        # The module's own file: ansible-lint resolves the action plugin first, and ours (the module
        # cache) hold no argument spec.
        resolved = module_loader.find_plugin_with_context(module_name, ignore_deprecated=True, check_aliases=True).plugin_resolved_path
        if not isinstance(resolved, str) or not is_binary(Path(resolved)):
            return builtin_matchtask(self, task, file)
        sidecar = sidecar_of(Path(resolved))
        if sidecar is None:
            # Nothing documents the options, so there is nothing to check them against.
            return []
        module_args = {key: value for key, value in task["action"].items() if not key.startswith("__")}
        if has_jinja(module_args.get("_raw_params")):
            # `module: "{{ args }}"`: the options are only known at run time.
            return []
        results: list[MatchError] = []
        for message in sidecar_errors(module_name, sidecar, module_args):
            # The built-in parser drops type and choice errors on templated values, as for Python
            # modules: their values are only known at run time.
            results.extend(self._parse_failed_msg(json.dumps({"msg": message}), task, module_name, file))
        return self._sanitize_results(results, module_name)

    matchtask.checks_binary_modules = True  # type: ignore[attr-defined]
    rule_class.matchtask = matchtask  # type: ignore[method-assign]


def builtin_rule_by_file_name() -> type[builtin_args.ArgsRule] | None:
    """Return the rule class of the module ansible-lint imports as `args`, importing it now."""
    module = sys.modules.get("args")
    if module is None:
        spec = importlib.util.spec_from_file_location("args", builtin_args.__file__)
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        sys.modules["args"] = module
        spec.loader.exec_module(module)
    if Path(getattr(module, "__file__", "")) != Path(builtin_args.__file__):
        return None
    return getattr(module, "ArgsRule", None)


# ansible-lint imports the files of its rules directories by file name (`args`), besides its own
# package, so the rule it registers may be either class: extend both.
extend(builtin_args.ArgsRule)
by_file_name = builtin_rule_by_file_name()
if by_file_name is not None:
    extend(by_file_name)
