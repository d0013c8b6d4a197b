"""The next reboot RDS makes of an instance by itself: (instance, events, now) -> a forecast.

Pure: no AWS, no clock reads.
"""

from __future__ import annotations

from rdsca.model import RebootForecast

__all__ = ["RebootForecast"]
