// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title FederatedLedger: the consortium's record of federated-training rounds.
/// @notice Roles: one admin (the consortium operator), hospitals and miners registered in
/// pairs (each miner carries its hospital's updates). A round is opened by the admin; each
/// hospital's paired miner proposes the hospital's EIP-712-signed update; the other miners
/// approve or reject it; an update is accepted at a quorum of miners. The round's proposer,
/// chosen by rotation, commits the hash of the encrypted aggregate of the accepted updates;
/// miners attest it; at a quorum of attestations the round is sealed with the new global
/// model hash and contribution credits are minted: hospitals by accepted samples x their
/// unique-patient fraction x the round's hold-out quality factor, miners per verification
/// and per packed round.
/// @dev Gas-driven layout: one storage slot per update and one per round; the approval,
/// rejection and attestation sets are 16-bit bitmaps indexed by the miner's pair index
/// (hence at most 16 pairs). Everything an auditor needs is in events.
/// Contribution credits expose the ERC-20 read interface but are NOT transferable: they
/// record contribution, they are not a currency (transfer/approve revert).
contract FederatedLedger {
    // ---------------------------------------------------------------- types
    uint8 internal constant ROLE_NONE = 0;
    uint8 internal constant ROLE_HOSPITAL = 1;
    uint8 internal constant ROLE_MINER = 2;

    uint8 internal constant ROUND_NONE = 0;
    uint8 internal constant ROUND_OPEN = 1;
    uint8 internal constant ROUND_COMMITTED = 2;
    uint8 internal constant ROUND_SEALED = 3;
    uint8 internal constant ROUND_REJECTED = 4;

    uint8 internal constant UPDATE_NONE = 0;
    uint8 internal constant UPDATE_PENDING = 1;
    uint8 internal constant UPDATE_ACCEPTED = 2;
    uint8 internal constant UPDATE_REJECTED = 3;

    uint256 public constant MAX_PAIRS = 16;
    /// @dev Fractions and metrics are in parts per million.
    uint256 internal constant PPM = 1_000_000;
    /// @dev q = 1 + QUALITY_GAIN x mean hold-out gain: one accuracy point of gain adds 0.1.
    int256 internal constant QUALITY_GAIN = 10;
    /// @dev Each report's gain (after - before) is clipped to +-GAIN_CAP (10 points), the
    /// range over which q saturates, so one hospital moves q by at most 2/reports.
    int256 internal constant GAIN_CAP = 100_000;
    /// @dev Update ids are (round << 16) | sequence-in-round.
    uint256 internal constant SEQ_BITS = 16;
    uint256 internal constant HALF_ORDER =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    bytes32 internal constant UPDATE_TYPEHASH =
        keccak256("Update(uint64 round,bytes32 blobHash,uint64 sampleCount)");

    /// One slot. For a pair both members share `index`; `paired` points at the other one.
    struct Member {
        address paired;
        uint8 role;
        uint8 index;
        bool active;
        bool aligned; // a hospital with a recorded alignment
        uint32 sharedSize; // its latest recorded shared-sample count
        uint24 uniquePpm; // its latest self-reported unique-patient fraction (ppm)
    }

    /// One slot.
    struct Round {
        uint8 status;
        uint8 minUpdates; // at most MAX_PAIRS, as are the two counts below
        uint8 proposed; // number of updates proposed (next sequence number)
        uint8 accepted;
        uint16 proposedBy; // bitmap of pair indexes whose hospital already proposed
        uint16 attestations; // bitmap of miners that attested the aggregate
        uint8 packer; // pair index of the miner that committed the aggregate
        uint8 quorum; // snapshot at openRound: fixed for the round's life (and saves a read)
        uint8 miners; // active miners at openRound
        uint40 deadline;
        uint40 readyAt; // when `accepted` reached `minUpdates` (0 = not yet)
        uint40 committedAt;
        uint16 holdoutReports; // bitmap of hospitals that reported on any candidate
        uint32 weightLeft; // max total weight minus the weight of proposed, unrefused updates
    }

    /// One slot.
    struct Update {
        address hospital;
        uint32 sampleCount; // an update's weight: at most the round's max total weight (uint32)
        uint16 approvals; // bitmap of miners
        uint16 rejections; // bitmap of miners
        uint8 status;
        uint24 uniquePpm; // the hospital's unique-patient fraction when it was proposed
    }

    /// One slot per (round, candidate model hash): the hold-out reports on that candidate.
    struct HoldoutTally {
        uint8 reports;
        uint8 worse; // reports that found the candidate worse beyond the margin
        int64 gainSum; // sum of the clipped gains (after - before), ppm
    }

    /// A credit balance. `since` (registration time) is written at registration so the
    /// slot is already non-zero when the first seal credits it (5k gas instead of 22k).
    struct Credit {
        uint192 balance;
        uint64 since;
    }

    struct RoundHashes {
        bytes32 prevModelHash;
        bytes32 modelSpecHash;
        bytes32 aggregateHash;
    }

    // ---------------------------------------------------------------- storage
    // slot: admin + small config
    address public admin;
    uint8 public quorumOverride; // 0 = default ceil(2m/3) of active miners
    uint8 public pairCount;
    uint8 public activeMiners;
    uint32 public proposerTimeout;
    uint8 public holdoutQuorum; // hold-out reports needed before a seal (0 = none); capped by accepted
    uint32 public holdoutMargin; // metric units (ppm): worse means after + margin < before
    // slot: rates + round pointer
    uint64 public hospitalRate;
    uint64 public verifierRate;
    uint64 public packerRate;
    uint64 public currentRound;

    uint256 public totalSupply;
    bytes32 public modelHash; // the latest sealed global model

    mapping(address => Member) internal members;
    mapping(uint256 => address) internal minerAt;
    mapping(uint256 => Round) internal rounds;
    mapping(uint256 => RoundHashes) internal roundHashes;
    mapping(uint256 => Update) internal updates;
    mapping(address => Credit) internal credits;
    mapping(uint256 => mapping(bytes32 => HoldoutTally)) internal holdoutTallies;

    bytes32 internal immutable cachedDomainSeparator;
    uint256 internal immutable cachedChainId;

    // ---------------------------------------------------------------- events
    event AdminChanged(address indexed previousAdmin, address indexed newAdmin);
    event PairRegistered(address indexed hospital, address indexed miner, uint8 index);
    event PairRemoved(address indexed hospital, address indexed miner, uint8 index);
    event QuorumChanged(uint8 quorumOverride, uint8 effectiveQuorum);
    event RatesChanged(uint64 hospitalRate, uint64 verifierRate, uint64 packerRate);
    event ProposerTimeoutChanged(uint32 proposerTimeout);
    /// `uniquePpm`: the hospital's self-reported unique-patient fraction (ppm) of its shared
    /// samples, from its patient-token alignment; it scales the hospital's credits.
    event AlignmentRecorded(
        address indexed hospital,
        uint64 indexed run,
        bytes32 sharedSetHash,
        uint64 sharedSize,
        uint32 uniquePpm
    );
    event RoundOpened(
        uint64 indexed round,
        bytes32 prevModelHash,
        uint64 deadline,
        uint16 minUpdates,
        bytes32 modelSpecHash,
        uint32 maxTotalWeight
    );
    event UpdateProposed(
        uint64 indexed round,
        uint256 indexed updateId,
        address indexed hospital,
        address miner,
        bytes32 blobHash,
        uint64 sampleCount,
        bytes signature
    );
    event UpdateApproved(uint256 indexed updateId, address indexed miner, uint8 approvals);
    event UpdateRejected(uint256 indexed updateId, address indexed miner, string reason);
    event UpdateAccepted(uint64 indexed round, uint256 indexed updateId, address indexed hospital);
    event UpdateRefused(uint64 indexed round, uint256 indexed updateId, address indexed hospital);
    event RoundReady(uint64 indexed round, uint64 readyAt);
    event AggregateCommitted(
        uint64 indexed round, address indexed packer, bytes32 aggregateHash, uint16 acceptedUpdates
    );
    event AggregateAttested(uint64 indexed round, address indexed miner, uint8 attestations);
    event PartialDecryptionSubmitted(uint64 indexed round, address indexed miner, bytes32 blobHash);
    event RoundSealed(
        uint64 indexed round,
        bytes32 newModelHash,
        address indexed packer,
        uint256 hospitalCredits,
        uint256 minerCredits
    );
    event RoundRejected(uint64 indexed round, address indexed by, string reason);
    event HoldoutPolicyChanged(uint8 holdoutQuorum, uint32 holdoutMargin);
    /// A hospital's hold-out metric (ppm, higher is better) of the current and the candidate
    /// global model of a committed round.
    event HoldoutReported(
        uint64 indexed round,
        address indexed hospital,
        bytes32 candidateHash,
        int64 metricBefore,
        int64 metricAfter,
        bool worse
    );
    /// A miner refused a submission at its edge (never proposed): recorded for the audit.
    event SubmissionRefused(
        uint64 indexed round, address indexed hospital, address indexed miner, bytes32 blobHash,
        string reason
    );
    /// ERC-20 Transfer; emitted from address(0) when credits are minted at a seal.
    event Transfer(address indexed from, address indexed to, uint256 value);

    // ---------------------------------------------------------------- errors
    error NotAdmin(address caller);
    error NotMiner(address caller);
    error NotHospital(address account);
    error NotPairedMiner(address miner, address hospital);
    error NotProposer(address caller, uint64 round);
    error InvalidAddress(address account);
    error AlreadyRegistered(address account);
    error TooManyPairs();
    error InvalidQuorum(uint8 quorum);
    error InvalidRound(uint64 round, uint64 expected);
    error RoundNotOpen(uint64 round, uint8 status);
    error RoundNotCommitted(uint64 round, uint8 status);
    error DeadlinePassed(uint64 round, uint64 deadline);
    error InvalidDeadline(uint64 deadline);
    error InvalidMinUpdates(uint16 minUpdates);
    error ModelHashMismatch(bytes32 expected, bytes32 given);
    error BadSignature(address expected, address recovered);
    error MalformedSignature();
    error AlreadyProposed(address hospital, uint64 round);
    error SampleCountTooLarge(uint64 sampleCount, uint64 limit);
    error UnknownUpdate(uint256 updateId);
    error UpdateClosed(uint256 updateId, uint8 status);
    error AlreadyVoted(uint256 updateId, address miner);
    error NotReady(uint64 round, uint16 accepted, uint16 minUpdates);
    error AcceptedCountMismatch(uint16 expected, uint16 given);
    error AggregateMismatch(bytes32 expected, bytes32 given);
    error AlreadyAttested(uint64 round, address miner);
    error NoQuorum(uint64 round, uint8 attestations, uint8 quorum);
    error NonTransferable();
    error AlreadyReported(uint64 round, address hospital);
    error HoldoutPending(uint64 round, uint8 reports, uint8 needed);
    error HoldoutFailed(uint64 round, uint8 worse, uint8 reports);
    error HoldoutNotFailed(uint64 round, uint8 worse, uint8 reports);
    error CandidateNotReported(uint64 round, bytes32 candidateHash, uint8 reports, uint8 total);
    error InvalidUniqueFraction(uint32 uniquePpm);
    error InvalidMetric(int64 metric);
    error InvalidMaxTotalWeight(uint32 maxTotalWeight);
    error RoundWeightExceeded(uint64 round, uint64 sampleCount, uint32 weightLeft);

    // ---------------------------------------------------------------- modifiers
    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    constructor(
        uint64 hospitalRate_,
        uint64 verifierRate_,
        uint64 packerRate_,
        uint32 proposerTimeout_
    ) {
        admin = msg.sender;
        hospitalRate = hospitalRate_;
        verifierRate = verifierRate_;
        packerRate = packerRate_;
        proposerTimeout = proposerTimeout_;
        cachedChainId = block.chainid;
        cachedDomainSeparator = _buildDomainSeparator();
        emit AdminChanged(address(0), msg.sender);
        emit RatesChanged(hospitalRate_, verifierRate_, packerRate_);
        emit ProposerTimeoutChanged(proposerTimeout_);
    }

    // ================================================================ ERC-20 (read only)
    function name() external pure returns (string memory) {
        return "fedchain contribution credit";
    }

    function symbol() external pure returns (string memory) {
        return "FCC";
    }

    function decimals() external pure returns (uint8) {
        return 0;
    }

    function balanceOf(address account) external view returns (uint256) {
        return credits[account].balance;
    }

    function allowance(address, address) external pure returns (uint256) {
        return 0;
    }

    function transfer(address, uint256) external pure returns (bool) {
        revert NonTransferable();
    }

    function transferFrom(address, address, uint256) external pure returns (bool) {
        revert NonTransferable();
    }

    function approve(address, uint256) external pure returns (bool) {
        revert NonTransferable();
    }

    // ================================================================ administration
    function transferAdmin(address newAdmin) external onlyAdmin {
        if (newAdmin == address(0)) revert InvalidAddress(newAdmin);
        emit AdminChanged(admin, newAdmin);
        admin = newAdmin;
    }

    /// @notice Register a hospital and the miner that carries its updates.
    function registerPair(address hospital, address miner) external onlyAdmin {
        if (hospital == address(0) || hospital == miner) revert InvalidAddress(hospital);
        if (miner == address(0)) revert InvalidAddress(miner);
        if (members[hospital].role != ROLE_NONE) revert AlreadyRegistered(hospital);
        if (members[miner].role != ROLE_NONE) revert AlreadyRegistered(miner);
        uint8 index = pairCount;
        if (index >= MAX_PAIRS) revert TooManyPairs();
        members[hospital] = Member(miner, ROLE_HOSPITAL, index, true, false, 0, 0);
        members[miner] = Member(hospital, ROLE_MINER, index, true, false, 0, 0);
        minerAt[index] = miner;
        credits[hospital].since = uint64(block.timestamp);
        credits[miner].since = uint64(block.timestamp);
        pairCount = index + 1;
        activeMiners += 1;
        emit PairRegistered(hospital, miner, index);
    }

    /// @notice Deactivate a pair; its past votes stay counted, it can no longer act.
    function removePair(address hospital) external onlyAdmin {
        Member storage h = members[hospital];
        if (h.role != ROLE_HOSPITAL || !h.active) revert NotHospital(hospital);
        address miner = h.paired;
        h.active = false;
        members[miner].active = false;
        activeMiners -= 1;
        emit PairRemoved(hospital, miner, h.index);
    }

    /// @notice Set the quorum of miners (0 restores the default ceil(2m/3)); rounds opened
    /// from now on use it (an open round keeps the quorum it was opened with).
    function setQuorum(uint8 quorum_) external onlyAdmin {
        if (quorum_ > MAX_PAIRS) revert InvalidQuorum(quorum_);
        quorumOverride = quorum_;
        emit QuorumChanged(quorum_, quorum());
    }

    function setRates(uint64 hospitalRate_, uint64 verifierRate_, uint64 packerRate_)
        external
        onlyAdmin
    {
        hospitalRate = hospitalRate_;
        verifierRate = verifierRate_;
        packerRate = packerRate_;
        emit RatesChanged(hospitalRate_, verifierRate_, packerRate_);
    }

    function setProposerTimeout(uint32 proposerTimeout_) external onlyAdmin {
        proposerTimeout = proposerTimeout_;
        emit ProposerTimeoutChanged(proposerTimeout_);
    }

    /// @notice Hold-out rule: a seal needs min(reports_, accepted updates) hold-out reports
    /// (or one proposer timeout past the commit), and fails when a majority found it worse.
    function setHoldoutPolicy(uint8 reports_, uint32 margin_) external onlyAdmin {
        holdoutQuorum = reports_;
        holdoutMargin = margin_;
        emit HoldoutPolicyChanged(reports_, margin_);
    }

    // ================================================================ alignment (PSI)
    /// @notice A hospital records the outcome of a sample-alignment run; later proposals
    /// may not claim more samples than the latest recorded shared size, and are credited
    /// with the unique-patient fraction `uniquePpm` (self-reported: see docs/rewards.md).
    function recordAlignment(
        uint64 run,
        bytes32 sharedSetHash,
        uint64 sharedSize,
        uint32 uniquePpm
    ) external {
        Member storage h = members[msg.sender];
        if (h.role != ROLE_HOSPITAL || !h.active) revert NotHospital(msg.sender);
        if (sharedSize > type(uint32).max) {
            revert SampleCountTooLarge(sharedSize, type(uint32).max);
        }
        if (uniquePpm > PPM) revert InvalidUniqueFraction(uniquePpm);
        h.aligned = true;
        h.sharedSize = uint32(sharedSize);
        h.uniquePpm = uint24(uniquePpm);
        emit AlignmentRecorded(msg.sender, run, sharedSetHash, sharedSize, uniquePpm);
    }

    // ================================================================ rounds
    function openRound(
        uint64 round,
        bytes32 prevModelHash,
        uint64 deadline,
        uint16 minUpdates,
        bytes32 modelSpecHash,
        uint32 maxTotalWeight
    ) external onlyAdmin {
        uint64 last = currentRound;
        if (round != last + 1) revert InvalidRound(round, last + 1);
        if (last != 0) {
            uint8 lastStatus = rounds[last].status;
            if (lastStatus != ROUND_SEALED && lastStatus != ROUND_REJECTED) {
                revert InvalidRound(round, last);
            }
        }
        if (deadline <= block.timestamp || deadline > type(uint40).max) {
            revert InvalidDeadline(deadline);
        }
        if (minUpdates == 0 || minUpdates > MAX_PAIRS) revert InvalidMinUpdates(minUpdates);
        // every update weighs at least 1, so the round must hold minUpdates of them
        if (maxTotalWeight < minUpdates) revert InvalidMaxTotalWeight(maxTotalWeight);
        bytes32 latest = modelHash;
        if (latest != bytes32(0) && prevModelHash != latest) {
            revert ModelHashMismatch(latest, prevModelHash);
        }
        currentRound = round;
        Round storage r = rounds[round];
        r.status = ROUND_OPEN;
        r.minUpdates = uint8(minUpdates);
        r.deadline = uint40(deadline);
        r.quorum = quorum();
        r.miners = activeMiners;
        r.weightLeft = maxTotalWeight;
        RoundHashes storage rh = roundHashes[round];
        rh.prevModelHash = prevModelHash;
        rh.modelSpecHash = modelSpecHash;
        emit RoundOpened(round, prevModelHash, deadline, minUpdates, modelSpecHash, maxTotalWeight);
    }

    /// @notice The paired miner proposes its hospital's signed update; the proposal counts
    /// as the proposer's approval. Returns the update id ((round << 16) | sequence).
    function proposeUpdate(
        address hospital,
        uint64 round,
        bytes32 blobHash,
        uint64 sampleCount,
        bytes calldata signature
    ) external returns (uint256 updateId) {
        Member memory m = members[msg.sender];
        if (m.role != ROLE_MINER || !m.active) revert NotMiner(msg.sender);
        if (m.paired != hospital) revert NotPairedMiner(msg.sender, hospital);
        Member memory h = members[hospital];
        if (!h.active) revert NotHospital(hospital);
        Round storage r = rounds[round];
        Round memory rm = r;
        if (rm.status != ROUND_OPEN) revert RoundNotOpen(round, rm.status);
        if (block.timestamp > rm.deadline) revert DeadlinePassed(round, rm.deadline);
        uint16 bit = uint16(1) << m.index;
        if (rm.proposedBy & bit != 0) revert AlreadyProposed(hospital, round);
        uint64 limit = h.aligned ? uint64(h.sharedSize) : uint64(type(uint32).max);
        if (sampleCount > limit) revert SampleCountTooLarge(sampleCount, limit);
        // the packing has room for the spec's max total weight only (aggregation would fail)
        if (sampleCount > rm.weightLeft) {
            revert RoundWeightExceeded(round, sampleCount, rm.weightLeft);
        }
        address signer = _recover(_updateDigest(round, blobHash, sampleCount), signature);
        if (signer != hospital) revert BadSignature(hospital, signer);

        updateId = (uint256(round) << SEQ_BITS) | rm.proposed;
        r.proposed = rm.proposed + 1;
        r.proposedBy = rm.proposedBy | bit;
        r.weightLeft = rm.weightLeft - uint32(sampleCount);
        uint24 unique = h.aligned ? h.uniquePpm : uint24(PPM);
        updates[updateId] =
            Update(hospital, uint32(sampleCount), bit, 0, UPDATE_PENDING, unique);
        // The proposal is the proposer's approval (no separate UpdateApproved event).
        emit UpdateProposed(round, updateId, hospital, msg.sender, blobHash, sampleCount, signature);
        if (rm.quorum <= 1) _accept(r, round, updateId, hospital);
    }

    /// @notice Approve several updates in one transaction.
    function approveUpdates(uint256[] calldata updateIds) external {
        uint16 bit = uint16(1) << _activeMinerIndex();
        for (uint256 i = 0; i < updateIds.length; ++i) {
            _approve(updateIds[i], bit);
        }
    }

    function approveUpdate(uint256 updateId) external {
        _approve(updateId, uint16(1) << _activeMinerIndex());
    }

    /// @notice Reject an update with a reason; once acceptance is out of reach it is refused.
    function rejectUpdate(uint256 updateId, string calldata reason) external {
        uint16 bit = uint16(1) << _activeMinerIndex();
        (Round storage r, uint64 round) = _openRoundOf(updateId);
        Update storage u = updates[updateId];
        Update memory um = u;
        if (um.status == UPDATE_NONE) revert UnknownUpdate(updateId);
        if (um.status != UPDATE_PENDING) revert UpdateClosed(updateId, um.status);
        if ((um.approvals | um.rejections) & bit != 0) revert AlreadyVoted(updateId, msg.sender);
        uint16 rejections = um.rejections | bit;
        u.rejections = rejections;
        emit UpdateRejected(updateId, msg.sender, reason);
        if (uint256(_popcount(rejections)) + r.quorum > r.miners) {
            u.status = UPDATE_REJECTED;
            r.weightLeft += um.sampleCount; // a refused update gives its weight back
            emit UpdateRefused(round, updateId, um.hospital);
        }
    }

    /// @notice The round's proposer commits the hash of the aggregate of all accepted updates.
    function commitAggregate(uint64 round, bytes32 aggregateHash, uint16 acceptedUpdates) external {
        Round storage r = rounds[round];
        Round memory rm = r;
        if (rm.status != ROUND_OPEN) revert RoundNotOpen(round, rm.status);
        if (rm.readyAt == 0) revert NotReady(round, rm.accepted, rm.minUpdates);
        if (acceptedUpdates != rm.accepted) {
            revert AcceptedCountMismatch(rm.accepted, acceptedUpdates);
        }
        uint8 index = _activeMinerIndex();
        if (!_mayAct(round, index, rm.readyAt)) revert NotProposer(msg.sender, round);
        r.status = ROUND_COMMITTED;
        r.packer = index;
        r.attestations = uint16(1) << index;
        r.committedAt = uint40(block.timestamp);
        roundHashes[round].aggregateHash = aggregateHash;
        emit AggregateCommitted(round, msg.sender, aggregateHash, acceptedUpdates);
        emit AggregateAttested(round, msg.sender, 1);
    }

    /// @notice A miner that recomputed the aggregate attests the committed hash.
    function attestAggregate(uint64 round, bytes32 aggregateHash) external {
        uint8 index = _activeMinerIndex();
        Round storage r = rounds[round];
        if (r.status != ROUND_COMMITTED) revert RoundNotCommitted(round, r.status);
        bytes32 committed = roundHashes[round].aggregateHash;
        if (aggregateHash != committed) revert AggregateMismatch(committed, aggregateHash);
        uint16 bit = uint16(1) << index;
        uint16 attestations = r.attestations;
        if (attestations & bit != 0) revert AlreadyAttested(round, msg.sender);
        attestations |= bit;
        r.attestations = attestations;
        emit AggregateAttested(round, msg.sender, _popcount(attestations));
    }

    /// @notice Event-only record that a miner published its partial decryption of the
    /// round's aggregate (the share itself lives in the blob store under `blobHash`).
    function submitPartialDecryption(uint64 round, bytes32 blobHash) external {
        _activeMinerIndex();
        uint8 status = rounds[round].status;
        if (status != ROUND_COMMITTED) revert RoundNotCommitted(round, status);
        emit PartialDecryptionSubmitted(round, msg.sender, blobHash);
    }

    /// @notice A hospital reports hold-out metrics (ppm in [0, 10^6], higher is better) of the
    /// global model before and after a committed round's candidate; one report per hospital
    /// and round, tallied per candidate hash.
    function reportHoldout(
        uint64 round,
        bytes32 candidateHash,
        int64 metricBefore,
        int64 metricAfter
    ) external {
        Member memory h = members[msg.sender];
        if (h.role != ROLE_HOSPITAL || !h.active) revert NotHospital(msg.sender);
        Round storage r = rounds[round];
        Round memory rm = r;
        if (rm.status != ROUND_COMMITTED) revert RoundNotCommitted(round, rm.status);
        uint16 bit = uint16(1) << h.index;
        if (rm.holdoutReports & bit != 0) revert AlreadyReported(round, msg.sender);
        if (metricBefore < 0 || uint64(metricBefore) > PPM) revert InvalidMetric(metricBefore);
        if (metricAfter < 0 || uint64(metricAfter) > PPM) revert InvalidMetric(metricAfter);
        bool worse = int256(metricAfter) + int256(uint256(holdoutMargin)) < int256(metricBefore);
        int256 gain = int256(metricAfter) - int256(metricBefore);
        if (gain > GAIN_CAP) gain = GAIN_CAP;
        if (gain < -GAIN_CAP) gain = -GAIN_CAP;
        r.holdoutReports = rm.holdoutReports | bit;
        HoldoutTally storage t = holdoutTallies[round][candidateHash];
        HoldoutTally memory tm = t;
        t.reports = tm.reports + 1;
        if (worse) t.worse = tm.worse + 1;
        t.gainSum = tm.gainSum + int64(gain);
        emit HoldoutReported(round, msg.sender, candidateHash, metricBefore, metricAfter, worse);
    }

    /// @notice A miner records that it refused a hospital's submission before proposing it.
    function refuseSubmission(
        address hospital,
        uint64 round,
        bytes32 blobHash,
        string calldata reason
    ) external {
        _activeMinerIndex();
        emit SubmissionRefused(round, hospital, msg.sender, blobHash, reason);
    }

    /// @notice Seal a committed round at a quorum of attestations and mint the credits.
    /// The packer seals; after `proposerTimeout` past the commit any active miner may. Under
    /// a hold-out policy `newModelHash` must be the candidate the hospitals reported on.
    function sealRound(uint64 round, bytes32 newModelHash) external {
        uint8 index = _activeMinerIndex();
        Round storage r = rounds[round];
        Round memory rm = r;
        if (rm.status != ROUND_COMMITTED) revert RoundNotCommitted(round, rm.status);
        uint8 q = rm.quorum;
        uint8 attested = _popcount(rm.attestations);
        if (attested < q) revert NoQuorum(round, attested, q);
        uint256 windowEnd = uint256(rm.committedAt) + proposerTimeout;
        if (index != rm.packer && block.timestamp < windowEnd) {
            revert NotProposer(msg.sender, round);
        }
        HoldoutTally memory t = holdoutTallies[round][newModelHash];
        if (holdoutQuorum != 0) {
            _judgeHoldout(round, rm, windowEnd, newModelHash, t);
            if (uint256(t.worse) * 2 > t.reports) revert HoldoutFailed(round, t.worse, t.reports);
        }
        r.status = ROUND_SEALED;
        modelHash = newModelHash;
        (uint256 hospitalCredits, uint256 minerCredits) = _credit(round, rm, _qualityPpm(t));
        emit RoundSealed(round, newModelHash, minerAt[rm.packer], hospitalCredits, minerCredits);
    }

    /// @notice Record a round as rejected: by the admin; an open round by its current
    /// proposer once it is ready or past its deadline; a committed round by its packer, or,
    /// once it has stalled two timeouts past the commit, by the rotation (the designated
    /// miner first, the next one a timeout later...).
    function rejectRound(uint64 round, string calldata reason) external {
        Round storage r = rounds[round];
        Round memory rm = r;
        if (rm.status != ROUND_OPEN && rm.status != ROUND_COMMITTED) {
            revert RoundNotOpen(round, rm.status);
        }
        if (msg.sender != admin) {
            uint8 index = _activeMinerIndex();
            bool allowed;
            if (rm.status == ROUND_COMMITTED) {
                allowed = index == rm.packer
                    || _mayAct(round, index, rm.committedAt + 2 * uint256(proposerTimeout));
            } else if (rm.readyAt != 0) {
                allowed = _mayAct(round, index, rm.readyAt);
            } else if (block.timestamp > rm.deadline) {
                allowed = _mayAct(round, index, rm.deadline);
            }
            if (!allowed) revert NotProposer(msg.sender, round);
        }
        r.status = ROUND_REJECTED;
        emit RoundRejected(round, msg.sender, reason);
    }

    /// @notice Any active miner rejects a committed round whose candidate failed its hold-out
    /// check on chain (the verdict `sealRound(round, candidateHash)` would revert with), so a
    /// failed round does not wait for its packer.
    function rejectFailedHoldout(uint64 round, bytes32 candidateHash) external {
        _activeMinerIndex();
        Round storage r = rounds[round];
        Round memory rm = r;
        if (rm.status != ROUND_COMMITTED) revert RoundNotCommitted(round, rm.status);
        HoldoutTally memory t = holdoutTallies[round][candidateHash];
        if (holdoutQuorum == 0 || uint256(t.worse) * 2 <= t.reports) {
            revert HoldoutNotFailed(round, t.worse, t.reports);
        }
        _judgeHoldout(round, rm, uint256(rm.committedAt) + proposerTimeout, candidateHash, t);
        r.status = ROUND_REJECTED;
        emit RoundRejected(round, msg.sender, "HOLDOUT_WORSE");
    }

    /// @dev Whether the reports on `candidate` can be judged: it has the policy's reports
    /// (min(holdoutQuorum, accepted)), or enough reports came in and it holds a strict
    /// majority of them, or the window is over and no other candidate outnumbers it. So a
    /// hospital that reports another hash (or none) delays a seal at most one window.
    function _judgeHoldout(
        uint64 round,
        Round memory rm,
        uint256 windowEnd,
        bytes32 candidate,
        HoldoutTally memory t
    ) internal view {
        uint256 needed = holdoutQuorum;
        if (needed > rm.accepted) needed = rm.accepted;
        uint8 total = _popcount(rm.holdoutReports);
        uint256 mine = uint256(t.reports) * 2;
        if (t.reports >= needed) return;
        if (total >= needed && mine > total) return;
        if (block.timestamp >= windowEnd && mine >= total) return;
        if (total < needed && block.timestamp < windowEnd) {
            revert HoldoutPending(round, total, uint8(needed));
        }
        revert CandidateNotReported(round, candidate, t.reports, total);
    }

    /// @dev q in ppm: 10^6 + QUALITY_GAIN x (sum of clipped gains) / reports, truncated toward
    /// zero; 10^6 without reports. In [0, 2 x 10^6] because every gain is within +-GAIN_CAP.
    function _qualityPpm(HoldoutTally memory t) internal pure returns (uint256) {
        if (t.reports == 0) return PPM;
        int256 mean = (QUALITY_GAIN * int256(t.gainSum)) / int256(uint256(t.reports));
        return uint256(int256(PPM) + mean);
    }

    // ================================================================ views
    /// @notice Effective quorum of miners: the override, or ceil(2m/3) of active miners.
    function quorum() public view returns (uint8) {
        uint8 q = quorumOverride;
        if (q != 0) return q;
        return uint8((2 * uint256(activeMiners) + 2) / 3);
    }

    function domainSeparator() public view returns (bytes32) {
        return block.chainid == cachedChainId ? cachedDomainSeparator : _buildDomainSeparator();
    }

    /// @notice The EIP-712 digest a hospital signs for an update.
    function updateDigest(uint64 round, bytes32 blobHash, uint64 sampleCount)
        external
        view
        returns (bytes32)
    {
        return _updateDigest(round, blobHash, sampleCount);
    }

    function getMember(address account) external view returns (Member memory) {
        return members[account];
    }

    function minerAtIndex(uint8 index) external view returns (address) {
        return minerAt[index];
    }

    function getRound(uint64 round) external view returns (Round memory, RoundHashes memory) {
        return (rounds[round], roundHashes[round]);
    }

    function getUpdate(uint256 updateId) external view returns (Update memory) {
        return updates[updateId];
    }

    /// @notice The hold-out reports on one candidate of a round.
    function holdoutTally(uint64 round, bytes32 candidateHash)
        external
        view
        returns (HoldoutTally memory)
    {
        return holdoutTallies[round][candidateHash];
    }

    /// @notice The miner designated to pack `round` at `attempt` (0 = first choice).
    function proposerAt(uint64 round, uint256 attempt) public view returns (address) {
        uint256 n = pairCount;
        if (n == 0) return address(0);
        return minerAt[(uint256(round) + attempt) % n];
    }

    /// @notice Whether `miner` may commit (pack) `round` now.
    function mayPack(uint64 round, address miner) external view returns (bool) {
        Member memory m = members[miner];
        Round memory rm = rounds[round];
        if (m.role != ROLE_MINER || !m.active || rm.status != ROUND_OPEN || rm.readyAt == 0) {
            return false;
        }
        return _mayAct(round, m.index, rm.readyAt);
    }

    // ================================================================ internals
    function _activeMinerIndex() internal view returns (uint8) {
        Member memory m = members[msg.sender];
        if (m.role != ROLE_MINER || !m.active) revert NotMiner(msg.sender);
        return m.index;
    }

    function _openRoundOf(uint256 updateId) internal view returns (Round storage r, uint64 round) {
        round = uint64(updateId >> SEQ_BITS);
        r = rounds[round];
        uint8 status = r.status;
        if (status != ROUND_OPEN) revert RoundNotOpen(round, status);
    }

    function _approve(uint256 updateId, uint16 bit) internal {
        (Round storage r, uint64 round) = _openRoundOf(updateId);
        Update storage u = updates[updateId];
        Update memory um = u;
        if (um.status == UPDATE_NONE) revert UnknownUpdate(updateId);
        if (um.status == UPDATE_REJECTED) revert UpdateClosed(updateId, um.status);
        if ((um.approvals | um.rejections) & bit != 0) revert AlreadyVoted(updateId, msg.sender);
        uint16 approvals = um.approvals | bit;
        u.approvals = approvals;
        uint8 count = _popcount(approvals);
        emit UpdateApproved(updateId, msg.sender, count);
        if (um.status == UPDATE_PENDING && count >= r.quorum) {
            _accept(r, round, updateId, um.hospital);
        }
    }

    function _accept(Round storage r, uint64 round, uint256 updateId, address hospital) internal {
        updates[updateId].status = UPDATE_ACCEPTED;
        uint8 accepted = r.accepted + 1;
        r.accepted = accepted;
        emit UpdateAccepted(round, updateId, hospital);
        if (accepted == r.minUpdates) {
            r.readyAt = uint40(block.timestamp);
            emit RoundReady(round, uint64(block.timestamp));
        }
    }

    /// @dev The miner at `index` may act once (index - round) mod n timeouts have passed
    /// since `since`: the designated miner at once, the next after one timeout, and so on.
    function _mayAct(uint64 round, uint8 index, uint256 since) internal view returns (bool) {
        uint256 n = pairCount;
        uint256 attempt = (uint256(index) + n - (uint256(round) % n)) % n;
        if (attempt == 0) return true;
        uint256 timeout = proposerTimeout;
        return block.timestamp >= since + attempt * timeout;
    }

    /// @dev Mint credits: hospitals sampleCount * hospitalRate * uniquePpm * qualityPpm / 10^12
    /// per accepted update (one floor division, last); miners verifierRate per approval of
    /// an accepted update (the proposal counts) and packerRate to the packer.
    function _credit(uint64 round, Round memory rm, uint256 qualityPpm)
        internal
        returns (uint256 hospitalCredits, uint256 minerCredits)
    {
        uint256 hRate = hospitalRate;
        uint256 vRate = verifierRate;
        uint256[MAX_PAIRS] memory votes;
        uint256 base = uint256(round) << SEQ_BITS;
        for (uint256 seq = 0; seq < rm.proposed; ++seq) {
            Update memory u = updates[base | seq];
            if (u.status != UPDATE_ACCEPTED) continue;
            uint256 amount =
                uint256(u.sampleCount) * hRate * u.uniquePpm * qualityPpm / (PPM * PPM);
            if (amount != 0) {
                credits[u.hospital].balance += uint192(amount);
                hospitalCredits += amount;
                emit Transfer(address(0), u.hospital, amount);
            }
            uint256 approvals = u.approvals;
            for (uint256 i = 0; approvals != 0; ++i) {
                votes[i] += approvals & 1;
                approvals >>= 1;
            }
        }
        uint256 n = pairCount;
        for (uint256 i = 0; i < n; ++i) {
            uint256 amount = votes[i] * vRate;
            if (i == rm.packer) amount += packerRate;
            if (amount == 0) continue;
            address miner = minerAt[i];
            credits[miner].balance += uint192(amount);
            minerCredits += amount;
            emit Transfer(address(0), miner, amount);
        }
        totalSupply += hospitalCredits + minerCredits;
    }

    function _updateDigest(uint64 round, bytes32 blobHash, uint64 sampleCount)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(UPDATE_TYPEHASH, round, blobHash, sampleCount));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    function _buildDomainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH,
                keccak256("fedchain"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
    }

    /// @dev ecrecover with the malleability checks: 65-byte (r, s, v), low s, v in {27, 28}.
    function _recover(bytes32 digest, bytes calldata signature) internal pure returns (address) {
        if (signature.length != 65) revert MalformedSignature();
        bytes32 sigR;
        bytes32 sigS;
        uint8 v;
        assembly {
            sigR := calldataload(signature.offset)
            sigS := calldataload(add(signature.offset, 32))
            v := byte(0, calldataload(add(signature.offset, 64)))
        }
        if (uint256(sigS) > HALF_ORDER || (v != 27 && v != 28)) revert MalformedSignature();
        return ecrecover(digest, v, sigR, sigS);
    }

    function _popcount(uint256 x) internal pure returns (uint8 count) {
        while (x != 0) {
            x &= x - 1;
            ++count;
        }
    }
}
