//! Unpacking a layer into a directory of its own, so that nothing in the tar
//! can reach outside it. (Being written: see `unpack_layer`.)
