/// The index behind ``DenseTable`` and ``IdempotencyKeys``: a power-of-two array of 32-bit slots, each
/// 0 (free) or an entry's position + 1, searched by linear probing from the entry's placement.
enum ProbedSlots {
    /// Empties `slot`, moving later entries of its probe run back so that every lookup still finds
    /// them (deletion without tombstones). `placement` gives a stored value's ideal slot.
    static func remove(_ slot: Int, from slots: inout [UInt32], placement: (UInt32) -> Int) {
        let mask = slots.count - 1
        var hole = slot
        var next = slot
        while true {
            next = (next + 1) & mask
            let value = slots[next]
            if value == 0 { break }
            let ideal = placement(value) & mask
            // It stays when its ideal slot lies cyclically in (hole, next].
            let stays = hole < next ? (ideal > hole && ideal <= next) : (ideal > hole || ideal <= next)
            if !stays {
                slots[hole] = value
                hole = next
            }
        }
        slots[hole] = 0
    }
}
