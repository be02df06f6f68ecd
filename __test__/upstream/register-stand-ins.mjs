// Loaded with `--import` into each AVA worker of the copied suite: installs stand-in-hooks.mjs.
import { register } from 'node:module';

register('./stand-in-hooks.mjs', import.meta.url);
