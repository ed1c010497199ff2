"""Conditioning inputs built from label-map items (CoCosNet's face-edge and pose channels), shared by worlds and
real readers so both feed a method exactly the same encoding."""
