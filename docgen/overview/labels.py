"""The words of the report page and the summary spreadsheet, in the job's language."""

from __future__ import annotations

from collections.abc import Mapping

# One table: English, and Italian for it_* locales. A key missing from a language is a bug the
# tests catch (every language has the same keys).
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Build report", "sheet_file": "summary.xlsx", "made": "Made on",
        "workers": "workers", "worker": "Worker", "row": "Row", "key": "Key",
        "documents": "Documents", "batch": "Batch documents", "bundles": "Zip bundles",
        "failures": "Failed documents", "warnings": "Warnings", "fix": "Cell to fix",
        "problems": "Problems", "filter": "Filter", "name": "Name, key or row",
        "status": "Status", "all": "all", "shown": "shown", "thumbnail_missing": "no preview",
        "document": "Document", "file": "File", "message": "Message", "manifest": "manifest.csv",
        "sheet_workers": "Workers", "sheet_batch": "Batch documents", "sheet_warnings": "Warnings",
        "ok": "made", "unchanged": "unchanged", "skipped": "not due", "failed": "failed",
        "stale": "stale",
    },
    "it": {
        "title": "Riepilogo della produzione", "sheet_file": "riepilogo.xlsx",
        "made": "Prodotto il", "workers": "lavoratori", "worker": "Lavoratore", "row": "Riga",
        "key": "Chiave", "documents": "Documenti", "batch": "Documenti d'insieme", "bundles": "Archivi zip",
        "failures": "Documenti non prodotti", "warnings": "Avvisi", "fix": "Cella da correggere",
        "problems": "Problemi", "filter": "Filtra", "name": "Nome, chiave o riga",
        "status": "Stato", "all": "tutti", "shown": "mostrati",
        "thumbnail_missing": "anteprima non disponibile", "document": "Documento",
        "file": "File", "message": "Messaggio", "manifest": "manifest.csv",
        "sheet_workers": "Lavoratori", "sheet_batch": "Documenti d'insieme",
        "sheet_warnings": "Avvisi",
        "ok": "prodotto", "unchanged": "invariato", "skipped": "non dovuto",
        "failed": "errore", "stale": "superato",
    },
}
STATUSES = ("ok", "unchanged", "skipped", "failed", "stale")


def labels_for(locale: str) -> Mapping[str, str]:
    """Italian for it_IT (and any it_*), English otherwise."""
    return LABELS["it" if locale.lower().startswith("it") else "en"]


def sheet_names() -> set[str]:
    """Every name the summary spreadsheet may have had (the locale may change between builds)."""
    return {words["sheet_file"] for words in LABELS.values()}
