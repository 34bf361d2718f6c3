"""What plugins build on: the base classes of every kind of component (recipe, loss,
logger, augmentation, exporter, extractor), the context a recipe is handed, and the helpers
for declaring networks' inputs. Plugin authors import all of it from ``ganforge.plugin``."""
