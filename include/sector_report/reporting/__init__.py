"""The reports: rendering, publishing, the trends, their languages and the mails."""
