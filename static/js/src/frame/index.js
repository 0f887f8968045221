/** Entry of frame.js, the signer frame served at /sdk/frame/<publisher key>. */
import { bootFrame } from "./boot.js";

bootFrame(window);
