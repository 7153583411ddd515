"""unlearnlib: a reproducible study of machine unlearning for medical imaging."""
import warnings

__version__ = "0.1.0"

# huggingface_hub (imported by timm) imports tqdm.auto, which in a Jupyter kernel without
# ipywidgets warns "IProgress not found" and falls back to the plain bar; the library's own
# bars are plain tqdm anyway, so the warning is noise in every executed notebook.
warnings.filterwarnings("ignore", message="IProgress not found")
