from decimal import Decimal

import pytest

from bot.strategy import Candle, EmaCross, Signal, load_strategy, parse_klines

MINUTE = 60_000


def candles_from_closes(closes: list[str]) -> list[Candle]:
    out = []
    for i, close in enumerate(closes):
        c = Decimal(close)
        out.append(
            Candle(
                open_time_ms=i * MINUTE,
                open=c,
                high=c + Decimal("1"),
                low=c - Decimal("1"),
                close=c,
                volume=Decimal("10"),
                close_time_ms=(i + 1) * MINUTE - 1,
            )
        )
    return out


def signals_by_last_index(strategy, candles):
    """Evaluate as the bot would, one closed candle more at a time."""
    return {
        k - 1: sig
        for k in range(1, len(candles) + 1)
        if (sig := strategy.evaluate("BTCUSDC", candles[:k], None)) is not None
    }


STRATEGY = EmaCross(fast=3, slow=6, atr_period=3, atr_stop_mult=Decimal("2"), atr_tp_mult=3)


def test_long_fires_exactly_on_the_crossing_candle():
    falling = [str(100 - i) for i in range(12)]  # fast stays below slow
    candles = candles_from_closes([*falling, "120", "120", "120", "120", "120"])

    signals = signals_by_last_index(STRATEGY, candles)

    assert list(signals) == [12]
    sig = signals[12]
    assert sig.side == "LONG"
    assert sig.candle_open_ms == 12 * MINUTE
    assert "crossed above" in sig.reason


def test_short_fires_exactly_on_the_crossing_candle():
    rising = [str(100 + i) for i in range(12)]
    candles = candles_from_closes([*rising, "80", "80", "80", "80"])

    signals = signals_by_last_index(STRATEGY, candles)

    assert list(signals) == [12]
    assert signals[12].side == "SHORT"


def test_stop_and_target_are_atr_multiples_in_decimal():
    falling = [str(100 - i) for i in range(12)]
    candles = candles_from_closes([*falling, "120"])

    sig = STRATEGY.evaluate("BTCUSDC", candles, None)

    assert isinstance(sig, Signal)
    assert isinstance(sig.stop_distance, Decimal)
    assert sig.take_profit_distance / sig.stop_distance == Decimal("1.5")


def test_not_enough_candles_gives_no_signal():
    assert STRATEGY.evaluate("BTCUSDC", candles_from_closes(["100", "120"]), None) is None


def test_parse_klines_keeps_only_closed_candles():
    rows = [
        [0, "1.0", "2.0", "0.5", "1.5", "10", 59_999, "0", 1, "0", "0", "0"],
        [60_000, "1.5", "2.5", "1.0", "2.0", "11", 119_999, "0", 1, "0", "0", "0"],
    ]

    candles = parse_klines(rows, now_ms=100_000)

    assert [c.open_time_ms for c in candles] == [0]
    assert candles[0].close == Decimal("1.5")


def test_load_built_in_and_dotted_path_strategies():
    built_in = load_strategy("ema_cross", {"fast": 5, "slow": 10, "atr_stop_mult": 1.5})
    dotted = load_strategy("bot.strategy.ema_cross:EmaCross", {})

    assert built_in == EmaCross(fast=5, slow=10, atr_stop_mult=Decimal("1.5"))
    assert isinstance(dotted, EmaCross)


@pytest.mark.parametrize(
    ("name", "params"),
    [("nope", {}), ("no.such.module:X", {}), ("bot.strategy:Missing", {}), ("ema_cross", {"x": 1})],
)
def test_load_strategy_refuses_clearly(name, params):
    with pytest.raises(ValueError, match="strateg"):
        load_strategy(name, params)
