"""Imports mec from the installed tree (PYTHONPATH set by
tests/install_check.cmake) and runs one convolution: prints the version,
where the package came from and one output value (18: a 3x3 window of ones
over 2 channels of ones)."""
import numpy as np

import mec

y = mec.conv2d(np.ones((1, 2, 5, 5), np.float32), np.ones((3, 2, 3, 3), np.float32), padding=1)
print(mec.__version__, mec.__file__, float(y[0, 0, 2, 2]))
