"""The tables of wallet.money: payment schedules and their runs."""
from .schedule import PaymentSchedule, ScheduleRun

__all__ = ["PaymentSchedule", "ScheduleRun"]
