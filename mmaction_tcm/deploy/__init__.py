"""Deployment: export recognizers to ONNX (standard operators) and AOTInductor packages,
and run the exported files (see docs/deployment.md)."""
from .clip_model import ClipClassifier
from .export import (ExportError, default_clip_size, export_model, load_recognizer)
from .runtime import (ExportedModel, ExportedRecognizer, ModelFileError, ensure_native_ops,
                      load_exported)

__all__ = ['ClipClassifier', 'ExportError', 'default_clip_size', 'export_model',
           'load_recognizer', 'ExportedModel', 'ExportedRecognizer', 'ModelFileError',
           'ensure_native_ops', 'load_exported']
