"""Dataset preparation: COCO, Places365, CIFAR-10, any image folder and the
embedded sample photos -> sharded Lab TFRecords (schema in tfcolor/core/schema.py)."""
