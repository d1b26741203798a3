"""Core: Lab colour math, the record schema, the tf.data reader, photo reading, the run-directory layout and name registries. Imports nothing else of tfcolor."""
