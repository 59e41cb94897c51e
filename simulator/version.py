"""The package's version, in a module of its own: charts mark the files they write with it,
and nothing here imports anything."""

VERSION = "0.1.0"
