"""The models that ``skhash fit`` writes, as ``encode`` and ``search`` read them."""

from skhash.cli._io import CommandError

_MODEL_SUFFIXES = (".joblib", ".pkl")


def _is_quantizer_index(model):
    """Whether ``model`` is a pipeline ending with a QuantizedNeighbors."""
    from sklearn.pipeline import Pipeline

    from skhash.quantization import QuantizedNeighbors

    if isinstance(model, Pipeline):
        model = model.steps[-1][1]
    return isinstance(model, QuantizedNeighbors)


def _encoder_of(model, path):
    from sklearn.pipeline import Pipeline

    if _is_quantizer_index(model):
        # the codes of a quantizer: its codeword indices, after the same
        # preprocessing as the database
        steps = model.steps[:-1] if isinstance(model, Pipeline) else []
        search = model.steps[-1][1] if isinstance(model, Pipeline) else model
        return Pipeline([*steps, ("quantize", search.quantizer_)])
    if isinstance(model, Pipeline):
        last = model.steps[-1][1]
        return model[:-1] if hasattr(last, "kneighbors") else model
    if hasattr(model, "transform") and hasattr(model, "n_bits"):
        return model
    raise CommandError(
        f"model file {str(path)!r} holds a {type(model).__name__}, not a hashing "
        "pipeline."
    )


def _searcher_of(model, path):
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        model = model.steps[-1][1]
    if hasattr(model, "kneighbors") and hasattr(model, "_fit_codes"):
        return model
    raise CommandError(
        f"{str(path)!r} holds a {type(model).__name__}, not a fitted search index "
        "(a pipeline written by `skhash fit`, or a database code file .npy)."
    )


def _n_features(encoder):
    return getattr(encoder, "n_features_in_", None)
