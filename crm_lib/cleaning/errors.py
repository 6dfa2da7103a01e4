"""The one exception the cleaning step raises for problems a user must fix.

A :class:`DataContractError` is *fatal*: the input cannot be used as it is
(missing required column, unreadable file, empty table, a file that is not a
table, an ambiguous setting that only the user can decide). Row-level problems
are never fatal: those rows are quarantined with a reason instead.

The message is one plain-English paragraph naming the file, the table, the
column and the rule, followed by what to do. The batch runner prints it without
a Python traceback and exits non-zero.
"""

from __future__ import annotations

from pathlib import Path


class DataContractError(ValueError):
    """A fatal data problem: names the file, the table, the column and the rule broken."""

    def __init__(self, problem: str, *, file: str | Path | None = None, table: str = "",
                 column: str = "", rule: str = "", hint: str = "") -> None:
        self.problem = problem
        self.file = str(file) if file is not None else ""
        self.table = table
        self.column = column
        self.rule = rule
        self.hint = hint
        super().__init__(self.message)

    @classmethod
    def combine(cls, errors: list[DataContractError]) -> DataContractError:
        """One error for several fatal problems (all tables checked before stopping);
        its attributes are the first problem's, its message lists them all."""
        if len(errors) == 1:
            return errors[0]
        first = errors[0]
        err = cls(first.problem, file=first.file or None, table=first.table,
                  column=first.column, rule=first.rule, hint=first.hint)
        err.errors = list(errors)
        err.args = (err.message,)
        return err

    @property
    def message(self) -> str:
        """The one-paragraph message shown to the user."""
        many = getattr(self, "errors", None)
        if many:
            return f"{len(many)} tables cannot be used. " + " ".join(
                f"({i}) {e.message}" for i, e in enumerate(many, 1))
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.table:
            where.append(f"table '{self.table}'")
        if self.column:
            where.append(f"column '{self.column}'")
        text = f"Data contract error in {', '.join(where) or 'the input'}: {self.problem}"
        if self.rule:
            text += f" (rule: {self.rule})"
        text += "."
        if self.hint:
            text += f" {self.hint}"
        return text

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable across processes (papermill, xdist)
        return (_rebuild, (self.problem, self.file, self.table, self.column, self.rule,
                           self.hint))


def _rebuild(problem, file, table, column, rule, hint) -> DataContractError:
    return DataContractError(problem, file=file or None, table=table, column=column,
                             rule=rule, hint=hint)
