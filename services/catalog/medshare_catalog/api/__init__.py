"""HTTP routers: records, review, datasets, DICOMweb, administration, and who may call them."""
