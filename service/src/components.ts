// The service's business components, in mount and migration order. Adding one: its folder
// (service/src/<name>/component.ts, see items/) and one line here.

import type { Component } from './component/define-component.ts';
import { items } from './items/component.ts';

export const COMPONENTS: readonly Component[] = [items];
