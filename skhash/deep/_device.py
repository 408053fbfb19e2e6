"""The torch device that a deep estimator's ``device`` parameter names."""

import torch


def check_device(device):
    """The ``torch.device`` of ``device``, refused when it cannot run here.

    Parameters
    ----------
    device : str, torch.device or None
        The estimator's ``device`` parameter; None is the CPU.

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        When ``device`` names no torch device, or a CUDA device on a machine
        without CUDA; the message quotes the parameter.
    """
    try:
        dev = torch.device(device if device is not None else "cpu")
    except RuntimeError as exc:
        raise ValueError(f"device={device!r} is not a torch device.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available.")
    return dev
