"""What each data kind writes: ``write(x, out_dir, model, provenance) -> {name: path}`` for
``gankit sample`` and ``preview(x, path, meta, real, title)`` for training previews, one module
per kind, named by the kind's entry in :mod:`gankit.modality`."""
