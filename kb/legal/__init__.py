"""Legal analysis over the store: citations and số ký hiệu in text, the catalogue of stored documents,
the căn cứ checker, delegations to the provincial HĐND. Imports the `kb` core only."""
