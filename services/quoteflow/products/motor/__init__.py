"""Motor pricing: website quotes priced by frequency x severity x loadings.

- contract.py    the quote request, a priced row, the public quote (pydantic)
- features.py    the one feature derivation (training, live preprocess, batch scoring)
- model_io.py    the ONNX graph's input and output names, shapes and dtypes
- onnx_graph.py  the graph: skl2onnx frequency model plus the pricing arithmetic
- pricing.py     the pricing configuration and the premium formula (numpy reference)
- shaping.py     graph outputs to premium and breakdown, live and in batch
- batch.py       a book's rows judged as the live API would judge them
- product.py     the Product the platform serves
"""

from quoteflow.products.motor.product import MotorProduct

PRODUCT = MotorProduct()
