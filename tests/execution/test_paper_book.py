from decimal import Decimal

from bot.execution.paper_book import PaperBook

FEE = Decimal("0.0004")


def test_entry_price_is_weighted_and_reduction_realises_pnl_minus_fees():
    book = PaperBook(Decimal("1000"))
    book.fill("BTCUSDC", "BUY", Decimal("0.01"), Decimal("60000"), FEE)
    book.fill("BTCUSDC", "BUY", Decimal("0.01"), Decimal("62000"), FEE)

    assert book.position("BTCUSDC").entry_price == Decimal("61000")
    result = book.fill("BTCUSDC", "SELL", Decimal("0.02"), Decimal("61500"), FEE)

    assert result.realised_pnl == Decimal("10.00")
    assert book.position("BTCUSDC").amount == 0
    fees = (Decimal("600") + Decimal("620") + Decimal("1230")) * FEE
    assert book.wallet == Decimal("1000") + Decimal("10") - fees


def test_fill_crossing_zero_opens_the_rest_at_the_fill_price():
    book = PaperBook(Decimal("1000"))
    book.fill("BTCUSDC", "BUY", Decimal("0.01"), Decimal("60000"), Decimal(0))

    result = book.fill("BTCUSDC", "SELL", Decimal("0.03"), Decimal("59000"), Decimal(0))

    assert result.realised_pnl == Decimal("-10.00")
    assert book.position("BTCUSDC").amount == Decimal("-0.02")
    assert book.position("BTCUSDC").entry_price == Decimal("59000")
