# -*- coding: utf-8 -*-
# Copyright: contributors to tidepool.eks
# Apache License 2.0
"""The one module runner: what every module shell does once its options are parsed.

A module shell is its documentation, its argument spec and a short ``main()``::

    module = AnsibleModule(argument_spec=..., supports_check_mode=True)
    runner.run(module, lambda: core.ensure(...), requires=(k8s_client,), unexpected="flux_bootstrap")

:func:`run` then does the rest, the same way for every module:

* **required libraries**: each module object in ``requires`` (a core or helper module) that has a
  ``HAS_<LIB> = False`` flag fails the task with Ansible's ``missing_required_lib("<lib>")`` message and its
  ``<LIB>_IMPORT_ERROR`` (the convention of ``k8s/client.py``: kubernetes, ``crypto/*``: cryptography,
  ``aws/connection.py``: boto3);
* **failures**: a :class:`~.errors.TidepoolError` (and any type in ``errors``) becomes
  ``fail_json(msg=str(exc))`` with no traceback, plus the fields of a :class:`Failure` or of ``fields(exc)``;
  with ``unexpected`` set, any other exception becomes ``"<unexpected> failed unexpectedly: <Type>: <text>"``
  with the traceback only in ``exception`` (shown with -vvv); without it, Ansible reports it as a bug;
* **warnings**: the list under the result key ``warnings`` goes to ``module.warn``, one each;
* **diff**: the value under the result key ``diff`` (or, when callable, what it returns, computed only then) is
  returned only when the task runs with ``--diff``;
* **check mode**: :func:`apply` performs a plan only when it changes something and the task is not in check
  mode; the work function uses it for every write.
"""
from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.tidepool.eks.plugins.module_utils.common.errors import TidepoolError


class Failure(TidepoolError):
    """A failure that returns more than ``msg``: ``fields`` are added to the failed result (for example the
    partial result, or the commands that ran)."""

    def __init__(self, msg: str, **fields):
        super().__init__(msg)
        self.fields = fields


def require(module, *cores) -> None:
    """Fail the task when a library one of ``cores`` needs is missing (see the module docstring)."""
    for core in cores:
        for name in dir(core):
            if name.startswith("HAS_") and getattr(core, name) is False:
                lib = name[len("HAS_"):]
                module.fail_json(msg=missing_required_lib(lib.lower()),
                                 exception=str(getattr(core, f"{lib}_IMPORT_ERROR", None)))


def apply(module, plan, do, otherwise=None):
    """``do(plan)`` when ``plan.changed`` and the task is not in check mode; else ``otherwise()`` (None when not
    given). ``plan``: anything with a ``changed`` attribute (a :class:`~.plan.Plan`)."""
    if plan.changed and not module.check_mode:
        return do(plan)
    return otherwise() if otherwise else None


def run(module, work, *, requires=(), errors=(), fields=None, unexpected: str | None = None) -> None:
    """Run ``work()`` for ``module`` and end the task (``exit_json`` / ``fail_json``; never returns).

    ``work``: no arguments, returns the result dict (with ``changed``), optionally with the keys ``warnings``
    (list of str) and ``diff`` (entries, or a callable returning them). ``requires``: modules whose ``HAS_*``
    flags are checked first. ``errors``: exception types reported like a TidepoolError (for cores whose
    exceptions do not derive from it yet). ``fields(exc)``: further keys of the failed result. ``unexpected``:
    the module name of the message for any other exception (None: let Ansible report it with its traceback).
    """
    require(module, *requires)
    try:
        result = work()
    except Failure as exc:
        module.fail_json(msg=str(exc), **exc.fields)
    except (TidepoolError,) + tuple(errors) as exc:
        module.fail_json(msg=str(exc), **(fields(exc) if fields else {}))
    except Exception as exc:  # noqa: BLE001 - one sentence, the traceback only under `exception` (-vvv)
        if unexpected is None:
            raise
        module.fail_json(msg=f"{unexpected} failed unexpectedly: {type(exc).__name__}: {exc}",
                         exception=traceback.format_exc())
    finish(module, result)


def finish(module, result: dict) -> None:
    """Emit ``result``'s warnings, keep its diff only in diff mode, and ``exit_json`` with the rest."""
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    if "diff" in result:
        diff = result.pop("diff")
        if module._diff:
            result["diff"] = diff() if callable(diff) else diff
    module.exit_json(**result)
