"""The study period of a value analysis: analysis date, calibration end, holdout.

Buy-till-you-die models are validated the way Fader, Hardie & Lee (2005)
validate them on CDNOW: fit on a calibration period, predict the holdout
period that follows, compare. The analysis date is the session's ``as_of``,
which is the source's own date (CDNOW ends on 1998-06-30).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class StudyPeriod:
    """Calibration end and analysis date (the end of the holdout period)."""

    calibration_end: pd.Timestamp
    as_of: pd.Timestamp

    @property
    def holdout_weeks(self) -> float:
        return (self.as_of - self.calibration_end).days / 7.0

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"value": [str(self.calibration_end.date()), str(self.as_of.date()),
                                       round(self.holdout_weeks, 1)]},
                            index=["calibration end", "analysis date (holdout end)",
                                   "holdout length (weeks)"])


def study_period(as_of: object, calibration_end: str = "", holdout_weeks: int = 26
                 ) -> StudyPeriod:
    """Calibration end (given, or ``holdout_weeks`` before ``as_of``) and the analysis date."""
    end = pd.Timestamp(as_of)
    cal = (pd.Timestamp(calibration_end) if calibration_end
           else end - pd.Timedelta(weeks=int(holdout_weeks)))
    if cal >= end:
        raise ValueError(f"calibration_end {cal.date()} must be before the analysis date "
                         f"{end.date()}")
    return StudyPeriod(calibration_end=cal, as_of=end)
