"""Initializers from outside the registry: a Keras initializer class or instance, as an object or an import path.

An import path is ``package.module:Name``, optionally followed by a JSON object of keyword
arguments: ``mypkg.inits:ScaledHe{"gain": 0.1}``. ``Name`` must be a subclass of
``keras.initializers.Initializer`` (built with those arguments and, when its constructor takes a
``seed``, each layer's seed) or an instance of one (rebuilt from its ``get_config()`` with the
arguments on top, so that every layer still gets its own seed). A function is refused: a class
states its arguments, serializes, and takes a seed the way every initializer here does.

A run names its initializer by a string (``RunSpec.init``), so an object passed from Python gets
one (:func:`init_label`): its class's import path, plus the JSON of its non-default arguments for
an instance. A run's cache key holds what makes its weights (:func:`key_fields`): the class, by the
module that defines it; its arguments other than defaults and the seed (an instance's config, the
inline JSON, then ``init_params``); and the sha256 of the file that defines the class, so an edited
initializer never gets an old result.
"""

from __future__ import annotations

import initlab._tf_quiet  # noqa: F401  (before keras: silence TF start-up logs)

# isort: split

import functools
import hashlib
import importlib
import inspect
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import keras

from initlab.errors import InitlabError, InvalidArgumentError

_INITIALIZER = keras.initializers.Initializer
_DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_PATH = re.compile(rf"({_DOTTED}):({_DOTTED})")
FORM = "package.module:Name, optionally followed by a JSON object of keyword arguments"


@dataclass(frozen=True)
class UserInit:
    """An initializer named by an import path: its class and the arguments the path fixes
    (an instance's config, then the inline JSON)."""

    cls: type
    defaults: Mapping[str, Any] = field(default_factory=dict)


def is_import_path(identifier: Any) -> bool:
    """Whether ``identifier`` is meant as an import path (a string with a colon) rather than a registered name."""
    return isinstance(identifier, str) and ":" in identifier


def _refuse(text: str, requirement: str) -> InvalidArgumentError:
    return InvalidArgumentError("init", text, requirement)


def split_path(text: str) -> tuple[str, str, dict[str, Any]]:
    """``(module, attribute, keyword arguments)`` of ``package.module:Name{...}``.

    Raises:
        InvalidArgumentError: not of that form, or the arguments are not a JSON object.
    """
    brace = text.find("{")
    path, given = (text, "") if brace < 0 else (text[:brace], text[brace:])
    match = _PATH.fullmatch(path.strip())
    if match is None:
        raise _refuse(text, f"must be a registered name or {FORM}")
    kwargs: Any = {}
    if given:
        try:
            kwargs = json.loads(given)
        except json.JSONDecodeError as exc:
            raise _refuse(
                text, f"has keyword arguments that are not valid JSON ({exc.msg}, column {exc.colno})"
            ) from None
        if not isinstance(kwargs, dict):
            raise _refuse(text, f"has keyword arguments that must be a JSON object, not {type(kwargs).__name__}")
    return match.group(1), match.group(2), kwargs


def _import(module: str, attribute: str, text: str) -> Any:
    """The object ``module:attribute`` names; every failure is one line."""
    try:
        found: Any = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            raise _refuse(
                text, f"names module {module!r}, which was not found (is its folder on sys.path or PYTHONPATH?)"
            ) from None
        raise _refuse(text, f"names module {module!r}, whose import failed: {_one_line(exc)}") from None
    except Exception as exc:  # the user's module raised while being imported
        raise _refuse(text, f"names module {module!r}, whose import failed: {_one_line(exc)}") from None
    for i, part in enumerate(attribute.split(".")):
        if not hasattr(found, part):
            owner = module if i == 0 else f"{module}:{'.'.join(attribute.split('.')[:i])}"
            raise _refuse(text, f"names {part!r}, which {owner!r} does not define")
        found = getattr(found, part)
    return found


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _kind(obj: Any) -> str:
    """What ``obj`` is, in words, for an error message."""
    if inspect.isclass(obj):
        return f"the class {obj.__qualname__}, which does not subclass keras.initializers.Initializer"
    if inspect.isroutine(obj):
        return f"the function {getattr(obj, '__qualname__', obj)!r}"
    if inspect.ismodule(obj):
        return f"the module {obj.__name__!r}"
    name = type(obj).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _signature(cls: type) -> tuple[dict[str, Any], bool]:
    """``({parameter: default}, takes **kwargs)`` of ``cls``'s constructor (a required one's default is
    ``inspect.Parameter.empty``)."""
    try:
        params = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return {}, True
    named = {
        p.name: p.default for p in params if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    return named, any(p.kind is p.VAR_KEYWORD for p in params)


def _config(obj: Any, where: str) -> dict[str, Any]:
    """An instance's ``get_config()`` without its seed, checked to rebuild it and to be JSON."""
    config = dict(obj.get_config() or {})
    config.pop("seed", None)
    named, _ = _signature(type(obj))
    lost = sorted(set(named) - {"seed"} - set(config))
    if lost:
        raise _refuse(
            where,
            f"is an instance whose get_config() leaves out {', '.join(lost)}, so it cannot be rebuilt with its "
            f"arguments; give {type(obj).__qualname__} a get_config() or pass the class with init_params",
        )
    try:
        return json.loads(json.dumps(config))
    except (TypeError, ValueError) as exc:
        raise _refuse(where, f"is an instance whose get_config() is not JSON ({exc})") from None


def _non_default(cls: type, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` without the seed and without arguments equal to the constructor's default."""
    named, _ = _signature(cls)
    out = {}
    for k, v in kwargs.items():
        if k == "seed":
            continue
        try:
            default = k in named and bool(v == named[k])
        except (TypeError, ValueError):  # arrays and the like: keep them
            default = False
        if not default:
            out[k] = v
    return out


def resolve(text: str) -> UserInit:
    """The class and fixed arguments of the import path ``text`` (see the module's docstring).

    Raises:
        InvalidArgumentError: a malformed path, a module that cannot be imported, a missing
            attribute, bad JSON, or an object that is not an initializer class or instance.
    """
    module, attribute, kwargs = split_path(text)
    obj = _import(module, attribute, text)
    if inspect.isclass(obj) and issubclass(obj, _INITIALIZER):
        return UserInit(obj, kwargs)
    if isinstance(obj, _INITIALIZER):
        return UserInit(type(obj), {**_config(obj, text), **kwargs})
    raise _refuse(text, f"must name a keras.initializers.Initializer subclass or instance; it names {_kind(obj)}")


def build(user: UserInit, label: str, seed: int | None = None, **params: Any) -> keras.initializers.Initializer:
    """An instance of ``user``'s class with its fixed arguments, ``params`` on top and ``seed``
    (when the constructor takes one).

    Raises:
        InvalidArgumentError: an argument the constructor does not take, or one it rejects.
    """
    kwargs = {**user.defaults, **params}
    kwargs.pop("seed", None)
    named, open_ended = _signature(user.cls)
    if not open_ended:
        for key in kwargs:
            if key not in named:
                raise InvalidArgumentError(
                    key,
                    kwargs[key],
                    f"is not a parameter of {label!r} (parameters: {', '.join(sorted(named)) or 'none'})",
                )
    if "seed" in named:
        kwargs["seed"] = seed
    try:
        return user.cls(**kwargs)
    except (TypeError, ValueError, ArithmeticError) as exc:
        if isinstance(exc, InitlabError):
            raise
        shown = json.dumps({k: v for k, v in kwargs.items() if k != "seed"}, default=repr)
        raise _refuse(label, f"could not be built with {shown}: {_one_line(exc)}") from None


TRIAL_SHAPE = (4, 3)  # every model here ends in a Dense layer: an initializer must draw a 2-D kernel


def check_draws(init: keras.initializers.Initializer, label: str) -> None:
    """Draw a :data:`TRIAL_SHAPE` kernel from ``init``, so that arguments it accepts but cannot use
    are refused in one line before any data are loaded.

    Raises:
        InvalidArgumentError: the draw failed, or did not give that shape.
    """
    try:
        shape = tuple(keras.ops.shape(init(TRIAL_SHAPE)))
    except InitlabError:
        raise
    except Exception as exc:  # the user's code failed: say so in one line
        raise _refuse(label, f"could not draw a {TRIAL_SHAPE} kernel: {_one_line(exc)}") from None
    if shape != TRIAL_SHAPE:
        raise _refuse(label, f"drew a kernel of shape {shape} when asked for {TRIAL_SHAPE}")


def class_path(cls: type) -> str:
    """``module:QualName`` of the module that defines ``cls``."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _public_path(cls: type) -> str:
    """The shortest import path of ``cls``: Keras' own classes by ``keras.initializers``."""
    if cls.__module__.startswith("keras.") and getattr(keras.initializers, cls.__name__, None) is cls:
        return f"keras.initializers:{cls.__name__}"
    return class_path(cls)


def is_initializer_object(init: Any) -> bool:
    """Whether ``init`` is a ``keras.initializers.Initializer`` subclass or instance."""
    return isinstance(init, _INITIALIZER) or (inspect.isclass(init) and issubclass(init, _INITIALIZER))


def init_label(init: Any) -> Any:
    """The string a run names ``init`` by: a class by its import path; an instance by its class's
    path and the JSON of its non-default arguments (seed left out: each layer gets its own), e.g.
    ``mypkg.inits:ScaledHe{"gain":2.0}``. Anything else (a name, a path) is returned as it is:
    :func:`~initlab.nets.initializers.get_initializer` judges it.

    Raises:
        InvalidArgumentError: the class cannot be imported back by its path (defined in
            ``__main__`` or inside a function), or an instance cannot be rebuilt.
    """
    if not is_initializer_object(init):
        return init
    cls = init if inspect.isclass(init) else type(init)
    path = _public_path(cls)
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        where = "in __main__" if cls.__module__ == "__main__" else "inside a function"
        raise InvalidArgumentError(
            "init",
            init,
            f"has a class defined {where}, which runs in other processes cannot import: define "
            f"{cls.__name__} in a module (a .py file on sys.path) and pass it or its path",
        )
    module, attribute, _ = split_path(path)
    if _import(module, attribute, path) is not cls:
        raise InvalidArgumentError("init", init, f"has a class that {path} does not import back")
    if inspect.isclass(init):
        return path
    given = _non_default(cls, _config(init, path))
    return path + (json.dumps(given, sort_keys=True, separators=(",", ":")) if given else "")


@functools.lru_cache(maxsize=256)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def source_digest(cls: type) -> str | None:
    """The sha256 of the file that defines ``cls``, or None when it has no file."""
    try:
        path = inspect.getsourcefile(cls) or inspect.getfile(cls)
        stat = os.stat(path)
    except (TypeError, OSError):
        return None
    return _digest(path, stat.st_mtime_ns, stat.st_size)


def key_fields(init: str, init_params: Mapping[str, Any]) -> dict[str, Any]:
    """What a run's cache key holds for an import path instead of the path as written: ``init`` the
    class's own ``module:QualName``, ``init_params`` every non-default argument but the seed, and
    ``init_source`` the digest of the class's file. Empty for a registered name (its key is unchanged).
    """
    if not is_import_path(init):
        return {}
    user = resolve(init)
    params = _non_default(user.cls, {**user.defaults, **init_params})
    return {"init": class_path(user.cls), "init_params": params, "init_source": source_digest(user.cls)}
