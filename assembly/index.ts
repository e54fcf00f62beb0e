// The module's only export surface: every kernel the host may call.
export { heap_base, fill_f32, backend_id } from './memory';
export { igemm_f32_4x8 } from './gemm/igemm';
export { dwconv_f32, locally_connected_f32 } from './conv';
