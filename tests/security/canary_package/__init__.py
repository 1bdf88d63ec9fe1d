"""A package that leaves a mark when imported: the tests name its modules as environment ids."""

from canary_factory import leave_mark

leave_mark("imported canary_package")
