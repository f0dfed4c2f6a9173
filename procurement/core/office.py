"""Helpers for the .xlsx and .docx files the features export."""

from __future__ import annotations

from io import BytesIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.shared import Pt

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MONEY_FORMAT = "#,##0.00"


def append_row(sheet, values: list) -> None:
    """Append a row; text is always text, so a name such as '=HYPERLINK(...)' stays inert."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            cell.data_type = "s"


def cjk_document() -> DocxDocument:
    """A new document whose normal text is 宋体 11 pt, East Asian text included."""
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "宋体"
    style.font.size = Pt(11)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    return document


def saved(book_or_document) -> BytesIO:
    output = BytesIO()
    book_or_document.save(output)
    output.seek(0)
    return output
