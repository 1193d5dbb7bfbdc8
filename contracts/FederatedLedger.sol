// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title FederatedLedger: the consortium's record of federated-training rounds.
/// @notice Roles: an admin (the consortium operator: opens rounds), hospitals and miners
/// registered in pairs. The membership the ledger is deployed with is set up by the admin
/// before the first round; after that every change of membership or settings needs a quorum
/// of miners (`voteChange`). A round is opened by the admin; any active miner proposes a
/// hospital's EIP-712-signed update (its paired miner first; another when that one is
/// silent); the other miners approve or reject it; an update is accepted at a quorum of
/// miners. The round's proposer, chosen by rotation over the active miners, commits the hash
/// of the encrypted aggregate of the accepted updates; miners recompute and attest it; at a
/// quorum of attestations they post partial decryptions, derive the candidate model and
/// attest its hash; the round is sealed with a candidate that a quorum of miners attested and
/// the hospitals' hold-out reports did not reject, and contribution credits are minted.
/// @dev Gas-driven layout: one storage slot per update and one per round (plus one per round
/// for the decryption phase); vote sets are 16-bit bitmaps indexed by the miner's pair index
/// (hence at most 16 active pairs; slots of removed pairs are reused). Everything an auditor
/// needs is in events. Credits expose the ERC-20 read interface but are NOT transferable.
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

    /// Governed changes (`voteChange`): what `a`, `b` and `value` mean for each kind.
    uint8 public constant CHANGE_ADD_PAIR = 1; // a = hospital, b = miner
    uint8 public constant CHANGE_REMOVE_PAIR = 2; // a = hospital
    uint8 public constant CHANGE_QUORUM = 3; // value = quorum override (0 = default)
    uint8 public constant CHANGE_RATES = 4; // value = hospital | verifier << 64 | packer << 128
    uint8 public constant CHANGE_PROPOSER_TIMEOUT = 5; // value = seconds
    uint8 public constant CHANGE_ADMIN = 6; // a = the new admin

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
    bytes32 internal constant ALIGNMENT_TYPEHASH = keccak256(
        "Alignment(address hospital,uint64 run,bytes32 sharedSetHash,uint64 sharedSize,uint32 uniquePpm)"
    );

    /// One slot. For a pair both members share `index`; `paired` points at the other one.
    struct Member {
        address paired;
        uint8 role;
        uint8 index;
        bool active;
        bool aligned; // a hospital with a recorded alignment
        uint32 sharedSize; // its latest recorded shared-sample count
        uint24 uniquePpm; // its latest recorded unique-patient fraction (ppm)
    }

    /// One slot.
    struct Round {
        uint8 status;
        uint8 minUpdates; // at most MAX_PAIRS, as are the counts below
        uint8 maxUpdates; // the spec's max_updates: proposals beyond it revert
        uint8 proposed; // number of updates proposed (next sequence number)
        uint8 accepted;
        uint16 proposedBy; // bitmap of pair indexes whose hospital already proposed
        uint16 attestations; // bitmap of miners that attested the aggregate
        uint8 packer; // pair index of the miner that committed the aggregate
        uint8 quorum; // snapshot at openRound: fixed for the round's life (and saves a read)
        uint8 miners; // active miners at openRound
        uint32 deadline;
        uint32 readyAt; // when `accepted` reached `minUpdates` (0 = not yet)
        uint32 committedAt;
        uint16 holdoutReports; // bitmap of hospitals that reported on any candidate
        uint32 weightLeft; // max total weight minus the weight of proposed, unrefused updates
    }

    /// One slot per round, written in the decryption phase: who posted what.
    struct DecryptionVotes {
        uint16 partials; // miners that posted the partial decryption of their assignment
        uint16 covers; // miners that posted a second partial covering a silent miner's part
        uint16 candidateVoters; // miners that attested a candidate model hash
    }

    /// One slot.
    struct Update {
        address hospital;
        uint32 sampleCount; // an update's weight: at most the round's max total weight (uint32)
        uint16 approvals; // bitmap of miners (only those that counted towards acceptance)
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
    // slot: admin + membership + small config
    address public admin;
    uint8 public quorumOverride; // 0 = default ceil(2m/3), always clamped to [m/2 + 1, m]
    uint16 public activeMask; // pair indexes of active pairs
    uint8 public activeMiners;
    uint8 public pairCount; // pair slots ever used (highest index + 1)
    uint32 public proposerTimeout;
    uint24 public changeNonce; // bumped at every executed change: pending votes expire
    // slot: rates + round pointer
    uint64 public hospitalRate;
    uint64 public verifierRate;
    uint64 public packerRate;
    uint64 public currentRound;

    uint256 public totalSupply;
    bytes32 public modelHash; // the latest sealed global model

    /// Hold-out policy, fixed at deployment: reports a seal needs (0 = no gate; capped by the
    /// accepted updates) and the margin (ppm) below which a report counts as worse.
    uint8 public immutable holdoutQuorum;
    uint32 public immutable holdoutMargin;
    /// The largest share of a round's total weight one update may carry (ppm, >= 1/2).
    uint32 public immutable maxSharePpm;
    /// sha256 of the consortium schema file (the vocabulary V1/V2 and the model are built
    /// on); every hospital and miner checks its own file against it (0 = none named).
    bytes32 public immutable schemaHash;

    mapping(address => Member) internal members;
    mapping(uint256 => address) internal minerAt;
    mapping(uint256 => uint64) internal slotFreedInRound; // pair index -> round it was freed in
    mapping(address => uint64) public alignmentRun; // latest recorded run per hospital
    mapping(uint256 => Round) internal rounds;
    mapping(uint256 => RoundHashes) internal roundHashes;
    mapping(uint256 => DecryptionVotes) internal decryptionVotes;
    mapping(uint256 => mapping(bytes32 => uint16)) internal candidateVotes;
    mapping(uint256 => Update) internal updates;
    mapping(address => Credit) internal credits;
    mapping(uint256 => mapping(bytes32 => HoldoutTally)) internal holdoutTallies;
    mapping(bytes32 => uint16) internal changeVotes;

    bytes32 internal immutable cachedDomainSeparator;
    uint256 internal immutable cachedChainId;

    // ---------------------------------------------------------------- events
    event AdminChanged(address indexed previousAdmin, address indexed newAdmin);
    event PairRegistered(address indexed hospital, address indexed miner, uint8 index);
    event PairRemoved(address indexed hospital, address indexed miner, uint8 index);
    event QuorumChanged(uint8 quorumOverride, uint8 effectiveQuorum);
    event RatesChanged(uint64 hospitalRate, uint64 verifierRate, uint64 packerRate);
    event ProposerTimeoutChanged(uint32 proposerTimeout);
    /// The policies fixed at deployment (hold-out gate, per-update weight share, schema).
    event PolicyFixed(
        uint8 holdoutQuorum, uint32 holdoutMargin, uint32 maxSharePpm, bytes32 schemaHash
    );
    /// A miner voted for a change; `votes` counts the miners that did (this nonce).
    event ChangeVoted(
        bytes32 indexed changeId,
        address indexed miner,
        uint8 kind,
        address a,
        address b,
        uint256 value,
        uint8 votes
    );
    event ChangeExecuted(bytes32 indexed changeId, uint8 kind, address a, address b, uint256 value);
    /// An alignment outcome, recorded by the relay that ran it (`recorder`) with the hospital's
    /// signature over exactly these values.
    event AlignmentRecorded(
        address indexed hospital,
        uint64 indexed run,
        bytes32 sharedSetHash,
        uint64 sharedSize,
        uint32 uniquePpm,
        address recorder
    );
    event RoundOpened(
        uint64 indexed round,
        bytes32 prevModelHash,
        uint64 deadline,
        uint16 minUpdates,
        bytes32 modelSpecHash,
        uint32 maxTotalWeight,
        uint16 maxUpdates
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
    /// A miner attests the candidate model it derived from the published partials.
    event CandidateAttested(
        uint64 indexed round, address indexed miner, bytes32 candidateHash, uint8 votes
    );
    event RoundSealed(
        uint64 indexed round,
        bytes32 newModelHash,
        address indexed packer,
        uint256 hospitalCredits,
        uint256 minerCredits
    );
    event RoundRejected(uint64 indexed round, address indexed by, string reason);
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
    error NotRelay(address caller);
    error NotProposer(address caller, uint64 round);
    error GovernanceRequired();
    error InvalidAddress(address account);
    error AlreadyRegistered(address account);
    error TooManyPairs();
    error InvalidQuorum(uint8 quorum);
    error InvalidPolicy();
    error InvalidChange(uint8 kind);
    error AlreadyVotedChange(bytes32 changeId, address miner);
    error InvalidRound(uint64 round, uint64 expected);
    error RoundNotOpen(uint64 round, uint8 status);
    error RoundNotCommitted(uint64 round, uint8 status);
    error DeadlinePassed(uint64 round, uint64 deadline);
    error InvalidDeadline(uint64 deadline);
    error InvalidMinUpdates(uint16 minUpdates);
    error InvalidMaxUpdates(uint16 maxUpdates);
    error TooManyUpdates(uint64 round, uint16 maxUpdates);
    error ModelHashMismatch(bytes32 expected, bytes32 given);
    error BadSignature(address expected, address recovered);
    error MalformedSignature();
    error AlreadyProposed(address hospital, uint64 round);
    error NotAligned(address hospital);
    error StaleAlignment(address hospital, uint64 run, uint64 latest);
    error SampleCountTooLarge(uint64 sampleCount, uint64 limit);
    error UnknownUpdate(uint256 updateId);
    error UpdateClosed(uint256 updateId, uint8 status);
    error AlreadyVoted(uint256 updateId, address miner);
    error NotReady(uint64 round, uint16 accepted, uint16 minUpdates);
    error AcceptedCountMismatch(uint16 expected, uint16 given);
    error AggregateMismatch(bytes32 expected, bytes32 given);
    error AlreadyAttested(uint64 round, address miner);
    error NoQuorum(uint64 round, uint8 attestations, uint8 quorum);
    error AlreadySubmitted(uint64 round, address miner);
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
    /// @dev The admin alone, and only before the first round: the genesis membership and
    /// settings. Afterwards the same changes need a quorum of miners (`voteChange`).
    modifier onlyGenesisAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        if (currentRound != 0) revert GovernanceRequired();
        _;
    }

    constructor(
        uint64 hospitalRate_,
        uint64 verifierRate_,
        uint64 packerRate_,
        uint32 proposerTimeout_,
        uint8 holdoutQuorum_,
        uint32 holdoutMargin_,
        uint32 maxSharePpm_,
        bytes32 schemaHash_
    ) {
        if (maxSharePpm_ < PPM / 2 || maxSharePpm_ > PPM || holdoutMargin_ > PPM) {
            revert InvalidPolicy();
        }
        admin = msg.sender;
        hospitalRate = hospitalRate_;
        verifierRate = verifierRate_;
        packerRate = packerRate_;
        proposerTimeout = proposerTimeout_;
        holdoutQuorum = holdoutQuorum_;
        holdoutMargin = holdoutMargin_;
        maxSharePpm = maxSharePpm_;
        schemaHash = schemaHash_;
        cachedChainId = block.chainid;
        cachedDomainSeparator = _buildDomainSeparator();
        emit AdminChanged(address(0), msg.sender);
        emit RatesChanged(hospitalRate_, verifierRate_, packerRate_);
        emit ProposerTimeoutChanged(proposerTimeout_);
        emit PolicyFixed(holdoutQuorum_, holdoutMargin_, maxSharePpm_, schemaHash_);
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

    // ================================================================ genesis administration
    function transferAdmin(address newAdmin) external onlyGenesisAdmin {
        _setAdmin(newAdmin);
    }

    /// @notice Register a hospital and the miner that carries its updates (genesis only).
    function registerPair(address hospital, address miner) external onlyGenesisAdmin {
        _registerPair(hospital, miner);
    }

    /// @notice Deactivate a pair (genesis only); its past votes stay counted.
    function removePair(address hospital) external onlyGenesisAdmin {
        _removePair(hospital);
    }

    /// @notice Set the quorum of miners (0 restores the default ceil(2m/3)); genesis only.
    function setQuorum(uint8 quorum_) external onlyGenesisAdmin {
        _setQuorum(quorum_);
    }

    function setRates(uint64 hospitalRate_, uint64 verifierRate_, uint64 packerRate_)
        external
        onlyGenesisAdmin
    {
        _setRates(hospitalRate_, verifierRate_, packerRate_);
    }

    function setProposerTimeout(uint32 proposerTimeout_) external onlyGenesisAdmin {
        _setProposerTimeout(proposerTimeout_);
    }

    // ================================================================ governance
    /// @notice An active miner votes for a change; at a quorum of active miners it executes.
    /// Every executed change bumps `changeNonce`, so votes still pending on other changes
    /// expire (they were cast against another membership or settings).
    function voteChange(uint8 kind, address a, address b, uint256 value) external {
        uint16 bit = uint16(1) << _activeMinerIndex();
        if (kind < CHANGE_ADD_PAIR || kind > CHANGE_ADMIN) revert InvalidChange(kind);
        bytes32 id = changeId(kind, a, b, value);
        uint16 votes = changeVotes[id];
        if (votes & bit != 0) revert AlreadyVotedChange(id, msg.sender);
        votes |= bit;
        uint8 count = _popcount(votes & activeMask);
        emit ChangeVoted(id, msg.sender, kind, a, b, value, count);
        if (count < quorum()) {
            changeVotes[id] = votes;
            return;
        }
        delete changeVotes[id];
        changeNonce += 1;
        emit ChangeExecuted(id, kind, a, b, value);
        if (kind == CHANGE_ADD_PAIR) {
            _registerPair(a, b);
        } else if (kind == CHANGE_REMOVE_PAIR) {
            _removePair(a);
        } else if (kind == CHANGE_QUORUM) {
            if (value > type(uint8).max) revert InvalidQuorum(type(uint8).max);
            _setQuorum(uint8(value));
        } else if (kind == CHANGE_RATES) {
            _setRates(uint64(value), uint64(value >> 64), uint64(value >> 128));
        } else if (kind == CHANGE_PROPOSER_TIMEOUT) {
            _setProposerTimeout(uint32(value));
        } else {
            _setAdmin(a);
        }
    }

    /// @notice The id votes on a change are kept under (it names the current nonce).
    function changeId(uint8 kind, address a, address b, uint256 value)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(kind, a, b, value, changeNonce));
    }

    /// @notice Miners (pair-index bitmap) that voted for a change under the current nonce.
    function changeVotesOf(uint8 kind, address a, address b, uint256 value)
        external
        view
        returns (uint16)
    {
        return changeVotes[changeId(kind, a, b, value)];
    }

    function _setAdmin(address newAdmin) internal {
        if (newAdmin == address(0)) revert InvalidAddress(newAdmin);
        emit AdminChanged(admin, newAdmin);
        admin = newAdmin;
    }

    /// @dev A pair takes the lowest free index; an index freed in the current round is
    /// reused only once that round is over (its votes are credited at that round's seal).
    function _registerPair(address hospital, address miner) internal {
        if (hospital == address(0) || hospital == miner) revert InvalidAddress(hospital);
        if (miner == address(0)) revert InvalidAddress(miner);
        if (members[hospital].role != ROLE_NONE) revert AlreadyRegistered(hospital);
        if (members[miner].role != ROLE_NONE) revert AlreadyRegistered(miner);
        uint16 mask = activeMask;
        uint64 current = currentRound;
        bool inProgress = current != 0 && rounds[current].status <= ROUND_COMMITTED;
        uint8 index = type(uint8).max;
        for (uint8 i = 0; i < MAX_PAIRS; ++i) {
            if (mask & (uint16(1) << i) != 0) continue;
            if (i < pairCount && inProgress && slotFreedInRound[i] == current) continue;
            index = i;
            break;
        }
        if (index == type(uint8).max) revert TooManyPairs();
        members[hospital] = Member(miner, ROLE_HOSPITAL, index, true, false, 0, 0);
        members[miner] = Member(hospital, ROLE_MINER, index, true, false, 0, 0);
        minerAt[index] = miner;
        credits[hospital].since = uint64(block.timestamp);
        credits[miner].since = uint64(block.timestamp);
        if (index >= pairCount) pairCount = index + 1;
        activeMask = mask | (uint16(1) << index);
        activeMiners += 1;
        emit PairRegistered(hospital, miner, index);
    }

    function _removePair(address hospital) internal {
        Member storage h = members[hospital];
        if (h.role != ROLE_HOSPITAL || !h.active) revert NotHospital(hospital);
        address miner = h.paired;
        uint8 index = h.index;
        h.active = false;
        members[miner].active = false;
        activeMask &= ~(uint16(1) << index);
        activeMiners -= 1;
        slotFreedInRound[index] = currentRound;
        emit PairRemoved(hospital, miner, index);
    }

    function _setQuorum(uint8 quorum_) internal {
        uint256 m = activeMiners;
        if (quorum_ != 0 && (quorum_ < m / 2 + 1 || quorum_ > m)) revert InvalidQuorum(quorum_);
        quorumOverride = quorum_;
        emit QuorumChanged(quorum_, quorum());
    }

    function _setRates(uint64 hospitalRate_, uint64 verifierRate_, uint64 packerRate_) internal {
        hospitalRate = hospitalRate_;
        verifierRate = verifierRate_;
        packerRate = packerRate_;
        emit RatesChanged(hospitalRate_, verifierRate_, packerRate_);
    }

    function _setProposerTimeout(uint32 proposerTimeout_) internal {
        proposerTimeout = proposerTimeout_;
        emit ProposerTimeoutChanged(proposerTimeout_);
    }

    // ================================================================ alignment (PSI)
    /// @notice The relay that ran an alignment (the admin or an active miner) records a
    /// hospital's outcome, with the hospital's EIP-712 signature over exactly these values:
    /// neither can record alone. Later proposals may not claim more samples than the latest
    /// recorded shared size and are credited with the unique-patient fraction `uniquePpm`.
    /// Runs never move back, so an outcome of an older run cannot be replayed over a newer.
    function recordAlignment(
        address hospital,
        uint64 run,
        bytes32 sharedSetHash,
        uint64 sharedSize,
        uint32 uniquePpm,
        bytes calldata signature
    ) external {
        if (msg.sender != admin) {
            Member memory relay = members[msg.sender];
            if (relay.role != ROLE_MINER || !relay.active) revert NotRelay(msg.sender);
        }
        Member storage h = members[hospital];
        if (h.role != ROLE_HOSPITAL || !h.active) revert NotHospital(hospital);
        if (sharedSize > type(uint32).max) {
            revert SampleCountTooLarge(sharedSize, type(uint32).max);
        }
        if (uniquePpm > PPM) revert InvalidUniqueFraction(uniquePpm);
        uint64 latest = alignmentRun[hospital];
        // the same run may be re-recorded (a patient run re-signs it with a new u)
        if (h.aligned && run < latest) revert StaleAlignment(hospital, run, latest);
        bytes32 structHash = keccak256(
            abi.encode(ALIGNMENT_TYPEHASH, hospital, run, sharedSetHash, sharedSize, uniquePpm)
        );
        address signer = _recover(_typedDigest(structHash), signature);
        if (signer != hospital) revert BadSignature(hospital, signer);
        alignmentRun[hospital] = run;
        h.aligned = true;
        h.sharedSize = uint32(sharedSize);
        h.uniquePpm = uint24(uniquePpm);
        emit AlignmentRecorded(hospital, run, sharedSetHash, sharedSize, uniquePpm, msg.sender);
    }

    // ================================================================ rounds
    function openRound(
        uint64 round,
        bytes32 prevModelHash,
        uint64 deadline,
        uint16 minUpdates,
        bytes32 modelSpecHash,
        uint32 maxTotalWeight,
        uint16 maxUpdates
    ) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        uint64 last = currentRound;
        if (round != last + 1) revert InvalidRound(round, last + 1);
        if (last != 0) {
            uint8 lastStatus = rounds[last].status;
            if (lastStatus != ROUND_SEALED && lastStatus != ROUND_REJECTED) {
                revert InvalidRound(round, last);
            }
        }
        if (deadline <= block.timestamp || deadline > type(uint32).max) {
            revert InvalidDeadline(deadline);
        }
        // an aggregate of one update would decrypt that hospital's update
        uint8 miners = activeMiners;
        if (minUpdates < 2 || minUpdates > miners) revert InvalidMinUpdates(minUpdates);
        if (maxUpdates < minUpdates || maxUpdates > MAX_PAIRS) revert InvalidMaxUpdates(maxUpdates);
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
        r.maxUpdates = uint8(maxUpdates);
        r.deadline = uint32(deadline);
        r.quorum = quorum();
        r.miners = miners;
        r.weightLeft = maxTotalWeight;
        RoundHashes storage rh = roundHashes[round];
        rh.prevModelHash = prevModelHash;
        rh.modelSpecHash = modelSpecHash;
        emit RoundOpened(
            round, prevModelHash, deadline, minUpdates, modelSpecHash, maxTotalWeight, maxUpdates
        );
    }

    /// @notice An active miner proposes a hospital's signed update (its paired miner, or
    /// another one when the paired miner does not); the proposal counts as the proposer's
    /// approval. Returns the update id ((round << 16) | sequence).
    function proposeUpdate(
        address hospital,
        uint64 round,
        bytes32 blobHash,
        uint64 sampleCount,
        bytes calldata signature
    ) external returns (uint256 updateId) {
        uint8 minerIndex = _activeMinerIndex();
        Member memory h = members[hospital];
        if (h.role != ROLE_HOSPITAL || !h.active) revert NotHospital(hospital);
        if (!h.aligned) revert NotAligned(hospital);
        Round storage r = rounds[round];
        Round memory rm = r;
        if (rm.status != ROUND_OPEN) revert RoundNotOpen(round, rm.status);
        if (block.timestamp > rm.deadline) revert DeadlinePassed(round, rm.deadline);
        uint16 hospitalBit = uint16(1) << h.index;
        if (rm.proposedBy & hospitalBit != 0) revert AlreadyProposed(hospital, round);
        if (rm.proposed >= rm.maxUpdates) revert TooManyUpdates(round, rm.maxUpdates);
        if (sampleCount > h.sharedSize) revert SampleCountTooLarge(sampleCount, h.sharedSize);
        // one update may take at most maxSharePpm of the room left, so it cannot fill the
        // round and lock every other hospital out (RoundWeightExceeded for all of them)
        if (sampleCount * PPM > uint256(rm.weightLeft) * maxSharePpm) {
            revert RoundWeightExceeded(round, sampleCount, rm.weightLeft);
        }
        address signer = _recover(_updateDigest(round, blobHash, sampleCount), signature);
        if (signer != hospital) revert BadSignature(hospital, signer);

        updateId = (uint256(round) << SEQ_BITS) | rm.proposed;
        r.proposed = rm.proposed + 1;
        r.proposedBy = rm.proposedBy | hospitalBit;
        r.weightLeft = rm.weightLeft - uint32(sampleCount);
        updates[updateId] = Update(
            hospital, uint32(sampleCount), uint16(1) << minerIndex, 0, UPDATE_PENDING, h.uniquePpm
        );
        // The proposal is the proposer's approval (no separate UpdateApproved event).
        emit UpdateProposed(round, updateId, hospital, msg.sender, blobHash, sampleCount, signature);
    }

    /// @notice Approve several updates in one transaction. An update that is already
    /// accepted is skipped: verification is paid up to the quorum, not beyond it.
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
        r.committedAt = uint32(block.timestamp);
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

    /// @notice Event-only record that a miner published a partial decryption of the round's
    /// aggregate (the blob lives in the blob store under `blobHash`). Only once a quorum of
    /// miners attested the aggregate; at most two per miner and round: its assignment and
    /// one cover of ciphertexts a silent miner left.
    function submitPartialDecryption(uint64 round, bytes32 blobHash) external {
        uint16 bit = uint16(1) << _activeMinerIndex();
        _attestedRound(round);
        DecryptionVotes storage d = decryptionVotes[round];
        DecryptionVotes memory dm = d;
        if (dm.partials & bit == 0) {
            d.partials = dm.partials | bit;
        } else if (dm.covers & bit == 0) {
            d.covers = dm.covers | bit;
        } else {
            revert AlreadySubmitted(round, msg.sender);
        }
        emit PartialDecryptionSubmitted(round, msg.sender, blobHash);
    }

    /// @notice A miner attests the candidate model hash it derived itself from the aggregate
    /// and the published partials (one vote per miner and round).
    function attestCandidate(uint64 round, bytes32 candidateHash) external {
        uint16 bit = uint16(1) << _activeMinerIndex();
        _attestedRound(round);
        DecryptionVotes storage d = decryptionVotes[round];
        uint16 voters = d.candidateVoters;
        if (voters & bit != 0) revert AlreadyAttested(round, msg.sender);
        d.candidateVoters = voters | bit;
        uint16 votes = candidateVotes[round][candidateHash] | bit;
        candidateVotes[round][candidateHash] = votes;
        emit CandidateAttested(round, msg.sender, candidateHash, _popcount(votes));
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

    /// @notice Seal a committed round with a candidate a quorum of miners attested (the
    /// sealer's own vote counts if it has not voted) and, under the hold-out policy, that the
    /// hospitals' reports did not reject; mints the credits. The packer seals; after
    /// `proposerTimeout` past the commit any active miner may.
    function sealRound(uint64 round, bytes32 newModelHash) external {
        uint8 index = _activeMinerIndex();
        Round storage r = rounds[round];
        Round memory rm = _attestedRound(round);
        uint256 windowEnd = uint256(rm.committedAt) + proposerTimeout;
        if (index != rm.packer && block.timestamp < windowEnd) {
            revert NotProposer(msg.sender, round);
        }
        uint16 votes = candidateVotes[round][newModelHash];
        if (decryptionVotes[round].candidateVoters & (uint16(1) << index) == 0) {
            votes |= uint16(1) << index;
        }
        uint8 count = _popcount(votes);
        if (count < rm.quorum) revert NoQuorum(round, count, rm.quorum);
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

    /// @notice Record a round as rejected, by the rotation of active miners (the designated
    /// miner first, the next one a timeout later...): an open round that never got ready
    /// from its deadline on, a ready one only after its whole packing window (every miner had
    /// its turn), a committed one two timeouts after the commit. The packer may reject its
    /// own commit once the attestation window (one timeout) is over.
    function rejectRound(uint64 round, string calldata reason) external {
        Round storage r = rounds[round];
        Round memory rm = r;
        if (rm.status != ROUND_OPEN && rm.status != ROUND_COMMITTED) {
            revert RoundNotOpen(round, rm.status);
        }
        uint8 index = _activeMinerIndex();
        uint256 timeout = proposerTimeout;
        bool allowed;
        if (rm.status == ROUND_COMMITTED) {
            allowed = (index == rm.packer && block.timestamp >= rm.committedAt + timeout)
                || _mayAct(round, index, rm.committedAt + 2 * timeout);
        } else if (rm.readyAt != 0) {
            allowed = _mayAct(round, index, rm.readyAt + uint256(activeMiners) * timeout);
        } else if (block.timestamp > rm.deadline) {
            allowed = _mayAct(round, index, rm.deadline);
        }
        if (!allowed) revert NotProposer(msg.sender, round);
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
    /// majority of them, or the window is over and it has reports and no other candidate
    /// outnumbers it. So a hospital that reports another hash (or none) delays a seal at most
    /// one window, and a window with no report at all is not a pass.
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
        if (block.timestamp >= windowEnd && t.reports != 0 && mine >= total) return;
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
    /// @notice Effective quorum of miners: the override or ceil(2m/3) of the m active miners,
    /// always within [floor(m/2) + 1, m] (a majority, and never more than can vote).
    function quorum() public view returns (uint8) {
        uint256 m = activeMiners;
        uint256 q = quorumOverride;
        if (q == 0) q = (2 * m + 2) / 3;
        if (q < m / 2 + 1) q = m / 2 + 1;
        if (q > m) q = m;
        return uint8(q);
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

    /// @notice Who posted partials, covers and candidate votes in a round (bitmaps).
    function getDecryptionVotes(uint64 round) external view returns (DecryptionVotes memory) {
        return decryptionVotes[round];
    }

    /// @notice Miners (bitmap) that attested `candidateHash` as the round's candidate model.
    function candidateVotesOf(uint64 round, bytes32 candidateHash) external view returns (uint16) {
        return candidateVotes[round][candidateHash];
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

    /// @notice The miner designated to pack `round` at `attempt` (0 = first choice): the
    /// rotation runs over the active miners only, in pair-index order.
    function proposerAt(uint64 round, uint256 attempt) public view returns (address) {
        uint256 c = activeMiners;
        if (c == 0) return address(0);
        uint256 rank = (uint256(round) + attempt) % c;
        uint16 mask = activeMask;
        for (uint256 i = 0; i < MAX_PAIRS; ++i) {
            if (mask & (uint16(1) << i) == 0) continue;
            if (rank == 0) return minerAt[i];
            --rank;
        }
        return address(0);
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

    /// @dev A committed round whose aggregate a quorum of miners attested: the only state in
    /// which partials, candidate votes and the seal mean anything.
    function _attestedRound(uint64 round) internal view returns (Round memory rm) {
        rm = rounds[round];
        if (rm.status != ROUND_COMMITTED) revert RoundNotCommitted(round, rm.status);
        uint8 attested = _popcount(rm.attestations);
        if (attested < rm.quorum) revert NoQuorum(round, attested, rm.quorum);
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
        if (um.status == UPDATE_ACCEPTED) return; // the quorum is in: a late vote adds nothing
        if (um.status == UPDATE_REJECTED) revert UpdateClosed(updateId, um.status);
        if ((um.approvals | um.rejections) & bit != 0) revert AlreadyVoted(updateId, msg.sender);
        uint16 approvals = um.approvals | bit;
        u.approvals = approvals;
        uint8 count = _popcount(approvals);
        emit UpdateApproved(updateId, msg.sender, count);
        if (count >= r.quorum) _accept(r, round, updateId, um.hospital);
    }

    function _accept(Round storage r, uint64 round, uint256 updateId, address hospital) internal {
        updates[updateId].status = UPDATE_ACCEPTED;
        uint8 accepted = r.accepted + 1;
        r.accepted = accepted;
        emit UpdateAccepted(round, updateId, hospital);
        if (accepted == r.minUpdates) {
            r.readyAt = uint32(block.timestamp);
            emit RoundReady(round, uint64(block.timestamp));
        }
    }

    /// @dev The miner at `index` may act once `attempt` timeouts have passed since `since`,
    /// where `attempt` is its distance in the rotation over the active miners from the
    /// round's designated one: the designated miner at once, the next after one timeout...
    function _mayAct(uint64 round, uint8 index, uint256 since) internal view returns (bool) {
        uint16 mask = activeMask;
        uint256 c = activeMiners;
        if (c == 0 || mask & (uint16(1) << index) == 0) return false;
        uint256 rank = _popcount(mask & ((uint16(1) << index) - 1));
        uint256 attempt = (rank + c - (uint256(round) % c)) % c;
        return block.timestamp >= since + attempt * uint256(proposerTimeout);
    }

    /// @dev An accepted update's weight in the aggregate: at most maxSharePpm of the round's
    /// total, i.e. at most s / (1 - s) times the others' weight (s >= 1/2, so at most one
    /// update is ever capped and the cap is exact). Mirrored by node/roundmath.py.
    function _effectiveWeight(uint256 weight, uint256 total) internal view returns (uint256) {
        uint256 s = maxSharePpm;
        if (s == PPM) return weight;
        uint256 cap = (total - weight) * s / (PPM - s);
        return weight < cap ? weight : cap;
    }

    /// @dev Mint credits: hospitals effectiveWeight * hospitalRate * uniquePpm * qualityPpm /
    /// 10^12 per accepted update (one floor division, last); miners verifierRate per vote
    /// that decided an update (the approvals that accepted it, the proposal counting, or the
    /// rejections that refused it) and packerRate to the packer.
    function _credit(uint64 round, Round memory rm, uint256 qualityPpm)
        internal
        returns (uint256 hospitalCredits, uint256 minerCredits)
    {
        uint256 hRate = hospitalRate;
        uint256 vRate = verifierRate;
        uint256[MAX_PAIRS] memory votes;
        uint256 base = uint256(round) << SEQ_BITS;
        uint256 total;
        for (uint256 seq = 0; seq < rm.proposed; ++seq) {
            Update memory u = updates[base | seq];
            if (u.status == UPDATE_ACCEPTED) total += u.sampleCount;
        }
        for (uint256 seq = 0; seq < rm.proposed; ++seq) {
            Update memory u = updates[base | seq];
            uint256 decided;
            if (u.status == UPDATE_ACCEPTED) {
                uint256 w = _effectiveWeight(u.sampleCount, total);
                uint256 amount = w * hRate * u.uniquePpm * qualityPpm / (PPM * PPM);
                if (amount != 0) {
                    credits[u.hospital].balance += uint192(amount);
                    hospitalCredits += amount;
                    emit Transfer(address(0), u.hospital, amount);
                }
                decided = u.approvals;
            } else if (u.status == UPDATE_REJECTED) {
                decided = u.rejections;
            }
            for (uint256 i = 0; decided != 0; ++i) {
                votes[i] += decided & 1;
                decided >>= 1;
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
        return _typedDigest(keccak256(abi.encode(UPDATE_TYPEHASH, round, blobHash, sampleCount)));
    }

    function _typedDigest(bytes32 structHash) internal view returns (bytes32) {
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
