"""Helpers for the .xlsx and .docx files the features export."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.shared import Pt
from openpyxl import Workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MONEY_FORMAT = "#,##0.00"


# What a spreadsheet program may read as the start of a formula (or a DDE call) when the
# text is typed in, or written as a formula by openpyxl (a leading "=").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def workbook() -> Workbook:
    """A new workbook; every .xlsx the application writes starts here and leaves through
    ``saved``, which makes each text cell inert."""
    return Workbook()


def make_inert(book: Workbook) -> None:
    """Make every text cell plain text: none is a formula, and text that a spreadsheet
    program could take for one (a name such as '=WEBSERVICE("http://…")', '+1', '@SUM')
    is marked as quoted text, so that editing the cell keeps it text too. The application
    writes no formula of its own."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                    cell.quotePrefix = True


def csv_text(value: Any) -> Any:
    """A CSV field that a spreadsheet program opening the file reads as text, never as a
    formula: text that could start one gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def cjk_document() -> DocxDocument:
    """A new document whose normal text is 宋体 11 pt, East Asian text included."""
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "宋体"
    style.font.size = Pt(11)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    return document


def saved(book_or_document: Workbook | Any) -> BytesIO:
    """The workbook (made inert first) or document as an in-memory file."""
    if isinstance(book_or_document, Workbook):
        make_inert(book_or_document)
    output = BytesIO()
    book_or_document.save(output)
    output.seek(0)
    return output
